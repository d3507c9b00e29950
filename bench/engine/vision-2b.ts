/**
 * The vision encoder at the Qwen3-VL-2B shape (ViT depth 24, hidden 1024; random weights) on a 1 MP image
 * (1024×1024 → 64×64 patches → 1024 visual tokens), next to the decoder's prefill of the same number of tokens,
 * for each build in BENCH_BUILDS (names as in _bench-2b.ts: "int4-append" has fp16 vision weights and the int4
 * decoder; "-v8" int8 vision Linears, "-p8" the int8 prefill decoder), CPU provider, same threads, builds
 * alternating per round. Time to first token for a 1 MP image ≈ vision + prefill.
 *
 *   node --import tsx bench/engine/vision-2b.ts   BENCH_THREADS=2 BENCH_ROUNDS=2 BENCH_GRID=64 BENCH_BUILDS=int4-append,int4-append-p8-v8
 */
import * as ort from "onnxruntime-node";
import { VISION_INPUTS } from "../../src/model/graph/contract.js";
import { visionSegmentInputs } from "../../src/model/graph/vision-inputs.js";
import { LocalEngine } from "../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../src/runtime/local/model-files.js";
import { builtByName } from "./_bench-2b.js";

const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const GRID = Number(process.env.BENCH_GRID ?? 64);
const BUILDS = (process.env.BENCH_BUILDS ?? "int4-append,int4-append-p8-v8").split(",");

for (const name of BUILDS) await builtByName(name);

async function openBuild(name: string): Promise<LocalEngine> {
  const { built, checkpoint } = await builtByName(name);
  const files = await loadModelFiles(built, checkpoint);
  return LocalEngine.open(files, { executionProvider: "cpu", threads: THREADS, log: () => {} });
}

async function visionMs(engine: LocalEngine, grid: number): Promise<number> {
  const files = engine.files;
  const m = files.manifest.model;
  const n = grid * grid;
  const side = visionSegmentInputs(grid, grid, files.config.vision);
  const pixels = new Float32Array(n * m.visionPatchInput).map((_, i) => Math.sin(i * 0.01));
  const t = performance.now();
  await engine.vision.run({
    [VISION_INPUTS.pixelValues]: new ort.Tensor("float32", pixels, [n, m.visionPatchInput]),
    [VISION_INPUTS.posEmbedIndices]: new ort.Tensor("int64", side.posEmbedIndices, [n, 4]),
    [VISION_INPUTS.posEmbedWeights]: new ort.Tensor("float32", side.posEmbedWeights, [n, 4]),
    [VISION_INPUTS.rotaryPositions]: new ort.Tensor("int64", side.rotaryPositions, [n, 2]),
  });
  return performance.now() - t;
}

async function prefillMs(engine: LocalEngine, tokens: number): Promise<number> {
  engine.cache.reset();
  const ids = Array.from({ length: tokens }, (_, i) => 1000 + ((i * 7919) % 100_000));
  const t = performance.now();
  await engine.prefill(ids, []);
  return performance.now() - t;
}

const tokens = (GRID * GRID) / 4;
const rows: string[] = [];
for (let r = 0; r < ROUNDS; r++) {
  // One build in memory at a time (each holds gigabytes); the order turns every round.
  for (const name of r % 2 === 0 ? BUILDS : [...BUILDS].reverse()) {
    const engine = await openBuild(name);
    await visionMs(engine, 8);
    await prefillMs(engine, 16);
    const v = await visionMs(engine, GRID);
    const p = await prefillMs(engine, tokens);
    await engine.close();
    rows.push(
      `| ${r + 1} | ${name} | ${GRID * 16}×${GRID * 16} | ${tokens} | ${v.toFixed(0)} | ${p.toFixed(0)} | ${(v / p).toFixed(2)} | ${(v + p).toFixed(0)} |`,
    );
    console.error(rows.at(-1));
  }
}
console.log(`Qwen3-VL-2B shape, random weights, CPU provider, ${THREADS} threads`);
console.log("");
console.log(
  "| round | build | image | visual tokens | vision encoder ms | decoder prefill of as many tokens ms | vision / prefill | TTFT ≈ ms |",
);
console.log("|---:|---|---|---:|---:|---:|---:|---:|");
console.log(rows.join("\n"));
