/**
 * The int4 block size (`squint models build --int4-block-size`): one MatMulNBits at the 2B model's MLP shape
 * (N 6144, K 2048), accuracy_level 4, built by Squint's own addLinear with blocks of 32, 64 and 128, alternating
 * in one process at M = 1 (a decode step) and M = 512 (a prefill chunk); and what each costs in accuracy: the
 * output's RMS error against the float32 product, relative to the output's RMS, on Gaussian weights (std 0.02,
 * the bench checkpoint's) and activations, and the weights' own RMS error — next to llama.cpp's Q4_0 (blocks
 * of 32, symmetric, scale = the block's largest-magnitude value / −8, per its documented format) on the same
 * weights, for comparison. Minimum and median of the runs (the machine is shared).
 *
 *   node --import tsx bench/engine/int4-block-size.ts        BENCH_THREADS=2 BENCH_RUNS=8 BENCH_BLOCKS=32,64,128
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../src/model/graph/graph-builder.js";
import { dequantizeInt4, quantizeInt4 } from "../../src/model/graph/int4.js";
import { addLinear } from "../../src/model/graph/linear.js";

const N = 6144;
const K = 2048;
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const RUNS = Number(process.env.BENCH_RUNS ?? 8);
const BLOCKS = (process.env.BENCH_BLOCKS ?? "32,64,128").split(",").map(Number);

/** Deterministic standard normal samples (Box–Muller over a fixed LCG), scaled by `std`. */
function gaussian(count: number, std: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(a) * std;
    if (i + 1 < count) out[i + 1] = r * Math.sin(a) * std;
  }
  return out;
}

const weights = gaussian(N * K, 0.02, 7);
const dir = mkdtempSync(join(tmpdir(), "squint-int4-block-"));
const sessions = new Map<number, ort.InferenceSession>();
for (const block of BLOCKS) {
  const path = join(dir, `matmul-${block}.onnx`);
  const g = new GraphBuilder({
    name: "matmul",
    externalDataPath: `${path}.data`,
    externalDataLocation: `matmul-${block}.onnx.data`,
  });
  const x = g.input("x", "float32", ["M", K]);
  const source = {
    n: N,
    k: K,
    read: async (start: number, count: number) => weights.subarray(start * K, (start + count) * K),
  };
  g.output("y", "float32", ["M", N], await addLinear(g, x, "mlp", source, undefined, "int4", block, 4));
  writeFileSync(path, g.finish());
  sessions.set(
    block,
    await ort.InferenceSession.create(path, { intraOpNumThreads: THREADS, graphOptimizationLevel: "all" }),
  );
}

/** Relative RMS error of int4 outputs against the float64-accumulated float32 product, for M rows of x. */
function relativeRmsError(x: Float32Array, M: number, y: Float32Array): number {
  let err = 0;
  let ref = 0;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += x[m * K + k]! * weights[n * K + k]!;
      err += (y[m * N + n]! - sum) ** 2;
      ref += sum * sum;
    }
  }
  return Math.sqrt(err / ref);
}

/** Relative RMS error of quantized weights. */
function weightError(dequantized: Float32Array): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < weights.length; i++) {
    err += (dequantized[i]! - weights[i]!) ** 2;
    ref += weights[i]! ** 2;
  }
  return Math.sqrt(err / ref);
}

/** llama.cpp's Q4_0 round trip: per 32 values, d = (signed value of largest magnitude) / −8, q = clamp(round(x/d) + 8, 0, 15). */
function q4_0RoundTrip(w: Float32Array): Float32Array {
  const out = new Float32Array(w.length);
  for (let start = 0; start < w.length; start += 32) {
    let max = 0;
    for (let i = start; i < start + 32; i++) if (Math.abs(w[i]!) > Math.abs(max)) max = w[i]!;
    const d = Math.fround(max / -8);
    const inv = d === 0 ? 0 : 1 / d;
    for (let i = start; i < start + 32; i++) {
      const q = Math.min(15, Math.max(0, Math.trunc(w[i]! * inv + 8.5)));
      out[i] = (q - 8) * d;
    }
  }
  return out;
}

const sorted = (v: number[]) => [...v].sort((a, b) => a - b);
const median = (v: number[]) => sorted(v)[Math.floor(v.length / 2)]!;
console.log(`MatMulNBits int4, accuracy_level 4, N=${N} K=${K}, ${THREADS} thread(s), ${RUNS} alternating runs per M`);
console.log("");
console.log(
  "| block | M=1 ms (min / median) | M=512 ms (min / median) | M=512 GMAC/s (min) | output relative RMS error | weight relative RMS error |",
);
console.log("|---:|---:|---:|---:|---:|---:|");
const rows = new Map<number, string[]>(BLOCKS.map((b) => [b, []]));
const errors = new Map<number, number>();
for (const M of [1, 512]) {
  const xData = gaussian(M * K, 1, 100 + M);
  const x = new ort.Tensor("float32", xData, [M, K]);
  const times = new Map<number, number[]>(BLOCKS.map((b) => [b, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const block of r % 2 === 0 ? BLOCKS : [...BLOCKS].reverse()) {
      const t = performance.now();
      const out = await sessions.get(block)!.run({ x });
      times.get(block)!.push(performance.now() - t);
      // Accuracy on the decode row (a float64-accumulated reference in JavaScript is slow for 512 rows).
      if (M === 1 && r === 0) errors.set(block, relativeRmsError(xData, 1, out.y!.data as Float32Array));
    }
  }
  for (const block of BLOCKS) {
    const v = times.get(block)!;
    const min = Math.min(...v);
    rows.get(block)!.push(`${min.toFixed(1)} / ${median(v).toFixed(1)}`);
    if (M === 512) rows.get(block)!.push(((M * N * K) / (min / 1000) / 1e9).toFixed(0));
  }
}
for (const block of BLOCKS) {
  const [decode, prefill, rate] = rows.get(block)!;
  const weightRms = weightError(dequantizeInt4(quantizeInt4(weights, N, K, block)));
  console.log(
    `| ${block} | ${decode} | ${prefill} | ${rate} | ${errors.get(block)!.toExponential(2)} | ${weightRms.toExponential(2)} |`,
  );
}
console.log(`| llama.cpp Q4_0 (32, symmetric) | | | | | ${weightError(q4_0RoundTrip(weights)).toExponential(2)} |`);
