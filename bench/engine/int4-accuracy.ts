/**
 * One MatMulNBits (int4, block 32, with zero points) at the 2B model's MLP shape (N 6144, K 2048), built by
 * Squint's own addLinear, at accuracy_level 0 (float32 compute) and 4 (int8 activations, VNNI), alternating in
 * one process: M = 1 (a decode step) and M = 128 (a prefill slice). The machine is shared, so besides the
 * median the minimum of the runs is reported: under contention it is the closest to the kernel's own speed.
 *
 *   node --import tsx bench/engine/int4-accuracy.ts        BENCH_THREADS=1 BENCH_RUNS=40
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../src/model/graph/graph-builder.js";
import { addLinear, type Int4AccuracyLevel } from "../../src/model/graph/linear.js";

const N = 6144;
const K = 2048;
const THREADS = Number(process.env.BENCH_THREADS ?? 1);
const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const LEVELS: Int4AccuracyLevel[] = [0, 4];

const weights = new Float32Array(N * K).map((_, i) => Math.sin(i * 0.37) * 0.02);
const dir = mkdtempSync(join(tmpdir(), "squint-int4-accuracy-"));
const sessions = new Map<Int4AccuracyLevel, ort.InferenceSession>();
for (const level of LEVELS) {
  const path = join(dir, `matmul-${level}.onnx`);
  const g = new GraphBuilder({
    name: "matmul",
    externalDataPath: `${path}.data`,
    externalDataLocation: `matmul-${level}.onnx.data`,
  });
  const x = g.input("x", "float32", ["M", K]);
  const source = {
    n: N,
    k: K,
    read: async (start: number, count: number) => weights.subarray(start * K, (start + count) * K),
  };
  g.output("y", "float32", ["M", N], await addLinear(g, x, "mlp", source, undefined, "int4", 32, level));
  writeFileSync(path, g.finish());
  sessions.set(
    level,
    await ort.InferenceSession.create(path, { intraOpNumThreads: THREADS, graphOptimizationLevel: "all" }),
  );
}
const sorted = (v: number[]) => [...v].sort((a, b) => a - b);
console.log(
  `MatMulNBits int4 N=${N} K=${K} (${((N * K) / 2 / 1e6).toFixed(1)} MB of nibbles), ${THREADS} thread(s), ${RUNS} alternating runs`,
);
console.log("");
console.log("| M | level 0 ms (min / median) | level 4 ms (min / median) | level 0 / level 4 (min) | (median) |");
console.log("|---:|---:|---:|---:|---:|");
for (const M of [1, 128]) {
  const x = new ort.Tensor(
    "float32",
    new Float32Array(M * K).map((_, i) => Math.cos(i)),
    [M, K],
  );
  const times = new Map<Int4AccuracyLevel, number[]>(LEVELS.map((l) => [l, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const level of r % 2 === 0 ? LEVELS : [...LEVELS].reverse()) {
      const t = performance.now();
      await sessions.get(level)!.run({ x });
      times.get(level)!.push(performance.now() - t);
    }
  }
  const [a, b] = LEVELS.map((l) => sorted(times.get(l)!));
  const med = (v: number[]) => v[Math.floor(v.length / 2)]!;
  console.log(
    `| ${M} | ${a![0]!.toFixed(2)} / ${med(a!).toFixed(2)} | ${b![0]!.toFixed(2)} / ${med(b!).toFixed(2)} | **${(a![0]! / b![0]!).toFixed(2)}×** | ${(med(a!) / med(b!)).toFixed(2)}× |`,
  );
}
