/**
 * The int8 prefill decoder (`squint models build --prefill-dtype int8`) against the int4 decoder it sits
 * beside, at the Qwen3-VL-2B text shape (random weights, bench/engine/_bench-2b.ts), CPU: one decoder run
 * of S new tokens after PAST cached positions, for several S, each graph in its own session of the same
 * build, alternating, the fastest of RUNS. It shows where the twin starts to pay (the engine's
 * PREFILL_GRAPH_MIN_TOKENS) and what it gives a prefill chunk; bench/engine/llama-cpp.ts has the whole
 * prefill next to llama.cpp's.
 *
 *   node --import tsx bench/engine/int8-prefill.ts     BENCH_THREADS=2 BENCH_RUNS=3 BENCH_PAST=512 BENCH_S=1,2,4,8,16,64,512
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import {
  DECODER_INPUTS,
  type Manifest,
  manifestSchema,
  pastKeyName,
  pastValueName,
} from "../../src/model/graph/contract.js";
import { built2b } from "./_bench-2b.js";

const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PAST = Number(process.env.BENCH_PAST ?? 512);
const SIZES = (process.env.BENCH_S ?? "1,2,4,8,16,64,512").split(",").map(Number);

const { built } = await built2b("int4-append-p8", { dtype: "int4", attention: "append", prefillDtype: "int8" });
const manifest: Manifest = manifestSchema.parse(JSON.parse(readFileSync(join(built, "manifest.json"), "utf8")));
const prefillEntry = manifest.graphs.prefill;
if (!prefillEntry) throw new Error("the build has no prefill decoder");
const m = manifest.model;

const open = (file: string) =>
  ort.InferenceSession.create(join(built, file), { intraOpNumThreads: THREADS, graphOptimizationLevel: "all" });
const sessions = { int4: await open(manifest.graphs.decoder.file), int8: await open(prefillEntry.file) };

/** Feeds for S new tokens after PAST cached positions (positions-first cache views, contract.ts). */
function feeds(s: number): Record<string, ort.Tensor> {
  const wave = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.1);
  const out: Record<string, ort.Tensor> = {
    [DECODER_INPUTS.inputsEmbeds]: new ort.Tensor("float32", wave(s * m.hiddenSize), [1, s, m.hiddenSize]),
    [DECODER_INPUTS.attentionMask]: new ort.Tensor("int64", new BigInt64Array(PAST + s).fill(1n), [1, PAST + s]),
    [DECODER_INPUTS.positionIds]: new ort.Tensor(
      "int64",
      BigInt64Array.from({ length: 3 * s }, (_, i) => BigInt(PAST + (i % s))),
      [3, 1, s],
    ),
    [DECODER_INPUTS.deepstackEmbeds]: new ort.Tensor(
      "float32",
      new Float32Array(s * m.deepstackLayers * m.hiddenSize),
      [1, s, m.deepstackLayers * m.hiddenSize],
    ),
  };
  const past = wave(PAST * m.numKeyValueHeads * m.headDim);
  for (let l = 0; l < m.numLayers; l++) {
    for (const name of [pastKeyName(l), pastValueName(l)]) {
      out[name] = new ort.Tensor("float32", past, [1, PAST, m.numKeyValueHeads, m.headDim]);
    }
  }
  return out;
}

console.log(
  `Qwen3-VL-2B text shape, random weights, CPU, ${THREADS} threads; one decoder run of S tokens after ${PAST} cached; fastest of ${RUNS}, alternating`,
);
console.log("");
console.log("| S | int4 decoder ms | int8 prefill decoder ms | int4 / int8 | int4 tok/s | int8 tok/s |");
console.log("|---:|---:|---:|---:|---:|---:|");
for (const s of SIZES) {
  const input = feeds(s);
  // One untimed run each: the first run of a shape pays for allocations and weight pre-packing.
  await sessions.int4.run(input);
  await sessions.int8.run(input);
  const best = { int4: Number.POSITIVE_INFINITY, int8: Number.POSITIVE_INFINITY };
  for (let r = 0; r < RUNS; r++) {
    for (const name of r % 2 === 0 ? (["int4", "int8"] as const) : (["int8", "int4"] as const)) {
      const t = performance.now();
      await sessions[name].run(input);
      best[name] = Math.min(best[name], performance.now() - t);
    }
  }
  const rate = (ms: number) => ((s * 1000) / ms).toFixed(0);
  console.log(
    `| ${s} | ${best.int4.toFixed(1)} | ${best.int8.toFixed(1)} | ${(best.int4 / best.int8).toFixed(2)}× | ${rate(best.int4)} | ${rate(best.int8)} |`,
  );
}
await sessions.int4.release();
await sessions.int8.release();
