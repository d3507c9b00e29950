/**
 * The vision encoder at the Qwen3-VL-2B shape (ViT depth 24, hidden 1024; random weights) on a 1 MP image
 * (1024×1024 → 64×64 patches → 1024 visual tokens), next to the decoder's prefill of the same number of tokens
 * (bench/engine/_bench-2b.ts), CPU provider, same threads, alternating. Three vision graphs in the same run: the
 * plain standard-op attention, the fused attention (com.microsoft RotaryEmbedding + MultiHeadAttention, the
 * default), both with fp16-stored weights as int4 builds store them, and the fused one with int8 Linears
 * (`--vision-dtype int8`); two prefills: the int4 decoder and the int8 prefill decoder (`--prefill-dtype int8`),
 * each engine opened in turn (one in memory at a time). Time to first token for a 1 MP image ≈ vision +
 * prefill. BENCH_PROFILE=1 also runs each vision graph once under ORT's profiler and prints the time per op type.
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
import { BENCH_2B_ROOT, builtByName } from "./_bench-2b.js";

const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const GRID = Number(process.env.BENCH_GRID ?? 64);
const PROFILE = process.env.BENCH_PROFILE === "1";
interface VisionForm {
  name: string;
  attention: VisionAttention;
  linears?: "int8";
}
const FORMS: VisionForm[] = [
  { name: "plain", attention: "plain" },
  { name: "fused", attention: "fused" },
  { name: "fused-int8", attention: "fused", linears: "int8" },
];
const PREFILL_BUILDS = ["int4-append", "int4-append-p8"];

const { built, checkpoint } = await builtByName(PREFILL_BUILDS[0]!);
for (const name of PREFILL_BUILDS) await builtByName(name);
const files = await loadModelFiles(built, checkpoint);
const m = files.manifest.model;

/** Each vision form built once from the checkpoint (fp16-stored, as the int4 build stores vision weights). */
async function visionGraph(form: VisionForm): Promise<string> {
  const dir = join(BENCH_2B_ROOT, `vision-2b-${form.name}`);
  const path = join(dir, GRAPH_FILES.vision);
  if (!existsSync(join(dir, ".complete"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const ckpt = await Checkpoint.open(checkpoint);
    try {
      await buildVisionGraph(ckpt, dir, { storage: "int4", attention: form.attention, linears: form.linears });
    } finally {
      await ckpt.close();
    }
    mkdirSync(join(dir, ".complete"));
  }
  return path;
}

function sessionOptions(profile?: string): ort.InferenceSession.SessionOptions {
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

/** A build's prefill of `tokens` text tokens, in an engine opened for it alone (after a small warm-up). */
async function prefillMs(build: string, tokens: number): Promise<number> {
  const { built: dir } = await builtByName(build);
  const engine = await LocalEngine.open(await loadModelFiles(dir, checkpoint), {
    executionProvider: "cpu",
    threads: THREADS,
    log: () => {},
  });
  const ids = Array.from({ length: tokens }, (_, i) => 1000 + ((i * 7919) % 100_000));
  await engine.prefill(ids.slice(0, 16), []);
  engine.cache.reset();
  const t = performance.now();
  await engine.prefill(ids, []);
  const ms = performance.now() - t;
  await engine.close();
  return ms;
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
const sessions = new Map<string, ort.InferenceSession>();
for (const form of FORMS)
  sessions.set(form.name, await ort.InferenceSession.create(await visionGraph(form), sessionOptions()));
const small = feeds(8);
for (const session of sessions.values()) await session.run(small);
// Each form's features from its timed runs, compared with the plain form's at the end.
const outputs = new Map<string, Float32Array>();

const rows: string[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? FORMS : [...FORMS].reverse();
  const ms = new Map<string, number>();
  for (const form of order) {
    const run = await visionRun(sessions.get(form.name)!, input);
    ms.set(form.name, run.ms);
    outputs.set(form.name, run.features);
  }
  for (const build of r % 2 === 0 ? PREFILL_BUILDS : [...PREFILL_BUILDS].reverse()) {
    ms.set(build, await prefillMs(build, tokens));
  }
  const cells = [...FORMS.map((f) => f.name), ...PREFILL_BUILDS].map((k) => ms.get(k)!.toFixed(0));
  const before = ms.get("plain")! + ms.get(PREFILL_BUILDS[0]!)!;
  const after = ms.get("fused-int8")! + ms.get(PREFILL_BUILDS[1]!)!;
  rows.push(
    `| ${r + 1} | ${cells.join(" | ")} | ${(ms.get("fused")! / ms.get(PREFILL_BUILDS[0]!)!).toFixed(2)} | ${(ms.get("fused-int8")! / ms.get(PREFILL_BUILDS[1]!)!).toFixed(2)} | ${before.toFixed(0)} | ${after.toFixed(0)} |`,
  );
  console.error(rows.at(-1));
}
for (const session of sessions.values()) await session.release();

const plainFeatures = outputs.get("plain");
const featureDistance = (name: string): string => {
  const features = outputs.get(name);
  return features && plainFeatures ? largestRelativeError(features, plainFeatures).toExponential(2) : "(no timed run)";
};
console.log(
  `Qwen3-VL-2B shape, random weights, CPU provider, ${THREADS} threads, ${GRID * 16}×${GRID * 16} image = ${tokens} visual tokens; image features' largest |Δ| from the plain form's, of the largest feature: ${FORMS.slice(
    1,
  )
    .map((f) => `${f.name} ${featureDistance(f.name)}`)
    .join(", ")}`,
);
console.log("");
console.log(
  "| round | vision plain ms | vision fused ms | vision fused int8 ms | prefill int4 ms | prefill int8 twin ms | fused / int4 prefill | fused int8 / int8 prefill | TTFT before ≈ ms (plain + int4) | TTFT after ≈ ms (fused int8 + int8 twin) |",
);
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
console.log(rows.join("\n"));

if (PROFILE) {
  for (const form of FORMS) {
    const session = await ort.InferenceSession.create(await visionGraph(form), sessionOptions(form.name));
    await session.run(input);
    session.endProfiling();
    // ORT names the file <prefix>_<date>.json: the newest one is this run's.
    const file = readdirSync(BENCH_2B_ROOT)
      .filter((name) => name.startsWith(`vision-profile-${form.name}`) && name.endsWith(".json"))
      .map((name) => join(BENCH_2B_ROOT, name))
      .sort()
      .at(-1)!;
    await session.release();
    console.log("");
    console.log(`ORT profile, vision ${form.name}, one run at ${GRID * 16}×${GRID * 16} (${file})`);
    console.log("");
    console.log("| op type | ms | share |");
    console.log("|---|---:|---:|");
    console.log(opTypeTable(file).join("\n"));
  }
}
