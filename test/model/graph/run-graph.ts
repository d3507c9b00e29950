import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../../src/model/graph/graph-builder.js";

/** Builds a one-off graph with the DSL into a temp dir and runs it on ORT's CPU EP. */
export async function runGraph(
  build: (g: GraphBuilder) => void | Promise<void>,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, ort.Tensor>> {
  const dir = mkdtempSync(join(tmpdir(), "squint-graph-"));
  const g = new GraphBuilder({ name: "test", externalDataPath: join(dir, "w.data"), externalDataLocation: "w.data" });
  await build(g);
  const path = join(dir, "g.onnx");
  writeFileSync(path, g.finish());
  const session = await ort.InferenceSession.create(path, { executionProviders: ["cpu"] });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export function f32(data: ArrayLike<number>, dims: number[]): ort.Tensor {
  return new ort.Tensor("float32", Float32Array.from(data), dims);
}

export function values(tensor: ort.Tensor | undefined): number[] {
  if (!tensor) throw new Error("missing output");
  return Array.from(tensor.data as Float32Array);
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function noise(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
