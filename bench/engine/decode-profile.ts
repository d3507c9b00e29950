/**
 * Where one decode step goes at the 2B shape: ONNX Runtime's profiler on the decoder session, the kernels'
 * time summed by operator type over the measured steps, next to the step's wall time (the rest is outside
 * the graph: the binding, the engine's cache bookkeeping, sampling).
 *
 *   BENCH_BUILD=int4-append-kv16-b64 BENCH_CONTEXT=1024 node --import tsx bench/engine/decode-profile.ts
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { loadModelFiles } from "../../src/runtime/local/model-files.js";
import { LocalEngine } from "../../src/runtime/local/engine.js";
import { greedySampling, Sampler } from "../../src/model/sampling.js";
import { builtByName } from "./_bench-2b.js";
import { promptIds } from "./_prompt.js";

const BUILD = process.env.BENCH_BUILD ?? "int4-append-kv16-b64";
const CONTEXT = Number(process.env.BENCH_CONTEXT ?? 1024);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const STEPS = Number(process.env.BENCH_STEPS ?? 16);
const PREFIX = join(tmpdir(), `squint-decode-profile-${process.pid}`);

interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

// Profile only the decoder: the session options are the engine's own, with profiling switched on.
const profiled: ort.InferenceSession[] = [];
const create = ort.InferenceSession.create.bind(ort.InferenceSession) as (
  path: string,
  options?: ort.InferenceSession.SessionOptions,
) => Promise<ort.InferenceSession>;
(ort.InferenceSession as unknown as { create: typeof create }).create = async (path, options) => {
  const decoder = /decoder\.onnx$/.test(path);
  const session = await create(
    path,
    decoder ? { ...options, enableProfiling: true, profileFilePrefix: PREFIX } : options,
  );
  if (decoder) profiled.push(session);
  return session;
};

const { built, checkpoint } = await builtByName(BUILD);
const engine = await LocalEngine.open(await loadModelFiles(built, checkpoint), {
  executionProvider: "cpu",
  threads: THREADS,
  log: () => {},
});
const sampler = new Sampler(greedySampling);
let token = sampler.sample((await engine.prefill(promptIds(CONTEXT), [])).logits);
const walls: number[] = [];
for (let i = 0; i < STEPS + 2; i++) {
  const t = performance.now();
  token = sampler.sample(await engine.step(token));
  walls.push(performance.now() - t);
}
const session = profiled[0];
if (!session) throw new Error("the decoder session was not opened through the profiler");
session.endProfiling();
await engine.close();
// onnxruntime-node writes the profile as <prefix>_<date>.json and does not return its name.
const file = readdirSync(dirname(PREFIX))
  .filter((name) => name.startsWith(basename(PREFIX)) && name.endsWith(".json"))
  .map((name) => join(dirname(PREFIX), name))
  .sort()
  .at(-1);
if (!file) throw new Error(`no profile written under ${PREFIX}*`);

const events = JSON.parse(readFileSync(file, "utf8")) as ProfileEvent[];
rmSync(file, { force: true });
const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
// The last STEPS runs are the measured steps (the two before them warm the step path).
const measured = runs.slice(-STEPS);
const inRun = (e: ProfileEvent) => measured.some((r) => e.ts >= r.ts && e.ts <= r.ts + r.dur);
const byOp = new Map<string, number>();
for (const e of events) {
  if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || !inRun(e)) continue;
  const op = e.args?.op_name ?? "?";
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
}
const wall = walls.slice(-STEPS).reduce((a, b) => a + b, 0) / STEPS;
const run = measured.reduce((a, r) => a + r.dur, 0) / STEPS / 1000;
const kernels = [...byOp.values()].reduce((a, b) => a + b, 0) / STEPS / 1000;
console.log(`${BUILD}, context ${CONTEXT}, ${THREADS} threads, mean of ${STEPS} steps`);
console.log("");
console.log("| part | ms/step | share of the step |");
console.log("|---|---:|---:|");
const line = (name: string, ms: number) =>
  console.log(`| ${name} | ${ms.toFixed(2)} | ${((ms / wall) * 100).toFixed(1)} % |`);
line("step wall time", wall);
line("model_run", run);
line("outside the run (binding, cache, sampling)", wall - run);
line("between kernels inside the run", run - kernels);
for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1])) line(op, us / STEPS / 1000);
