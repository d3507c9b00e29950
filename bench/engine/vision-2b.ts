/**
 * The vision encoder at the Qwen3-VL-2B shape (ViT depth 24, hidden 1024; random weights, fp16-stored as in
 * every build) on a 1 MP image (1024×1024 → 64×64 patches → 1024 visual tokens), next to the decoder's prefill
 * of the same number of tokens (int4, bench/engine/_bench-2b.ts), CPU provider, same threads, alternating.
 * Two vision graphs in the same run: the fused attention (com.microsoft RotaryEmbedding + MultiHeadAttention,
 * the default) and the plain standard-op form it replaced. Time to first token for a 1 MP image ≈ vision +
 * prefill. BENCH_PROFILE=1 also runs each vision graph once under ORT's profiler and prints the time per op
 * type.
 *
 *   node --import tsx bench/engine/vision-2b.ts        BENCH_THREADS=2 BENCH_ROUNDS=2 BENCH_GRID=64 BENCH_PROFILE=1
 *   (BENCH_ROUNDS=0 BENCH_PROFILE=1: the profiles alone)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { Checkpoint } from "../../src/model/checkpoint/checkpoint.js";
import { GRAPH_FILES, VISION_INPUTS, type VisionAttention } from "../../src/model/graph/contract.js";
import { visionSegmentInputs } from "../../src/model/graph/vision-inputs.js";
import { buildVisionGraph } from "../../src/model/graph/vision-graph.js";
import { LocalEngine } from "../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../src/runtime/local/model-files.js";
import { BENCH_2B_ROOT, built2b } from "./_bench-2b.js";

const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const GRID = Number(process.env.BENCH_GRID ?? 64);
const PROFILE = process.env.BENCH_PROFILE === "1";
const FORMS: VisionAttention[] = ["plain", "fused"];

const { built, checkpoint } = await built2b("int4-append", { dtype: "int4", attention: "append" });
const files = await loadModelFiles(built, checkpoint);
const engine = await LocalEngine.open(files, { executionProvider: "cpu", threads: THREADS, log: () => {} });
const m = files.manifest.model;

/** Each vision form built once from the checkpoint (fp16-stored, as the int4 build stores vision weights). */
async function visionGraph(form: VisionAttention): Promise<string> {
  const dir = join(BENCH_2B_ROOT, `vision-2b-${form}`);
  const path = join(dir, GRAPH_FILES.vision);
  if (!existsSync(join(dir, ".complete"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await buildVisionGraph(await Checkpoint.open(checkpoint), dir, { storage: "int4", attention: form });
    mkdirSync(join(dir, ".complete"));
  }
  return path;
}

function sessionOptions(profile?: VisionAttention): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: THREADS,
    logSeverityLevel: 3,
    // As the engine opens its vision graph: no threads left spinning for the decoder run that follows.
    extra: { session: { intra_op: { allow_spinning: "0" } } },
    ...(profile ? { enableProfiling: true, profileFilePrefix: join(BENCH_2B_ROOT, `vision-profile-${profile}`) } : {}),
  };
}

function feeds(grid: number): Record<string, ort.Tensor> {
  const n = grid * grid;
  const side = visionSegmentInputs(grid, grid, files.config.vision);
  const pixels = new Float32Array(n * m.visionPatchInput).map((_, i) => Math.sin(i * 0.01));
  return {
    [VISION_INPUTS.pixelValues]: new ort.Tensor("float32", pixels, [n, m.visionPatchInput]),
    [VISION_INPUTS.posEmbedIndices]: new ort.Tensor("int64", side.posEmbedIndices, [n, 4]),
    [VISION_INPUTS.posEmbedWeights]: new ort.Tensor("float32", side.posEmbedWeights, [n, 4]),
    [VISION_INPUTS.rotaryPositions]: new ort.Tensor("int64", side.rotaryPositions, [n, 2]),
  };
}

async function visionRun(
  session: ort.InferenceSession,
  input: Record<string, ort.Tensor>,
): Promise<{ ms: number; features: Float32Array }> {
  const t = performance.now();
  const out = await session.run(input);
  return { ms: performance.now() - t, features: out[session.outputNames[0]!]!.data as Float32Array };
}

async function prefillMs(tokens: number): Promise<number> {
  engine.cache.reset();
  const ids = Array.from({ length: tokens }, (_, i) => 1000 + ((i * 7919) % 100_000));
  const t = performance.now();
  await engine.prefill(ids, []);
  return performance.now() - t;
}

function largestRelativeError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

/** ORT's profile (Chrome trace JSON) summed by op type over the node events of its one run. */
function opTypeTable(file: string): string[] {
  const events = JSON.parse(readFileSync(file, "utf8")) as {
    cat?: string;
    dur?: number;
    args?: { op_name?: string };
  }[];
  const byOp = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== "Node" || !e.args?.op_name || !e.dur) continue;
    byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + e.dur / 1000);
    total += e.dur / 1000;
  }
  return [...byOp.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([op, ms]) => `| ${op} | ${ms.toFixed(0)} | ${((100 * ms) / total).toFixed(1)}% |`);
}

const input = feeds(GRID);
const tokens = (GRID * GRID) / 4;
const sessions = new Map<VisionAttention, ort.InferenceSession>();
for (const form of FORMS)
  sessions.set(form, await ort.InferenceSession.create(await visionGraph(form), sessionOptions()));
// Warm-up, and the two forms' features compared on the benchmark's own input.
const small = feeds(8);
for (const session of sessions.values()) await session.run(small);
await prefillMs(16);
let fusedVsPlain = Number.NaN;

const rows: string[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? FORMS : [...FORMS].reverse();
  const runs = new Map<VisionAttention, { ms: number; features: Float32Array }>();
  for (const form of order) runs.set(form, await visionRun(sessions.get(form)!, input));
  // The two forms' features compared on the benchmark's own input.
  fusedVsPlain = largestRelativeError(runs.get("fused")!.features, runs.get("plain")!.features);
  const p = await prefillMs(tokens);
  const plain = runs.get("plain")!.ms;
  const fused = runs.get("fused")!.ms;
  rows.push(
    `| ${r + 1} | ${GRID * 16}×${GRID * 16} | ${tokens} | ${plain.toFixed(0)} | ${fused.toFixed(0)} | ${p.toFixed(0)} | ${(plain / p).toFixed(2)} | ${(fused / p).toFixed(2)} | ${(plain / fused).toFixed(2)}× | ${(fused + p).toFixed(0)} |`,
  );
  console.error(rows.at(-1));
}
for (const session of sessions.values()) await session.release();
await engine.close();

console.log(
  `Qwen3-VL-2B shape, random weights, CPU provider, ${THREADS} threads (vision fp16-stored, decoder int4 append); fused vs plain image features: largest |Δ| ${fusedVsPlain.toExponential(2)} of the largest feature`,
);
console.log("");
console.log(
  "| round | image | visual tokens | vision plain ms | vision fused ms | decoder prefill of as many tokens ms | plain / prefill | fused / prefill | plain / fused | TTFT ≈ ms (fused) |",
);
console.log("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
console.log(rows.join("\n"));

if (PROFILE) {
  for (const form of FORMS) {
    const session = await ort.InferenceSession.create(await visionGraph(form), sessionOptions(form));
    await session.run(input);
    session.endProfiling();
    // ORT names the file <prefix>_<date>.json: the newest one is this run's.
    const file = readdirSync(BENCH_2B_ROOT)
      .filter((name) => name.startsWith(`vision-profile-${form}`) && name.endsWith(".json"))
      .map((name) => join(BENCH_2B_ROOT, name))
      .sort()
      .at(-1)!;
    await session.release();
    console.log("");
    console.log(`ORT profile, vision ${form}, one run at ${GRID * 16}×${GRID * 16} (${file})`);
    console.log("");
    console.log("| op type | ms | share |");
    console.log("|---|---:|---:|");
    console.log(opTypeTable(file).join("\n"));
  }
}
