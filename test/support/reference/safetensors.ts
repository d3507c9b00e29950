import { readFileSync } from "node:fs";
import { z } from "zod";

/**
 * A small safetensors reader of the reference's own, so that the reference depends on nothing the graph
 * builder wrote: 8-byte little-endian header length, JSON header, raw little-endian tensor bytes.
 * Every tensor comes out as float64.
 */

export interface Float64Tensor {
  shape: number[];
  data: Float64Array;
}

const entrySchema = z.object({
  dtype: z.enum(["F64", "F32", "F16", "BF16"]),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function decode(dtype: z.infer<typeof entrySchema>["dtype"], bytes: Buffer): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = { F64: 8, F32: 4, F16: 2, BF16: 2 }[dtype];
  const out = new Float64Array(bytes.byteLength / size);
  const scratch = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < out.length; i++) {
    const at = i * size;
    if (dtype === "F64") out[i] = view.getFloat64(at, true);
    else if (dtype === "F32") out[i] = view.getFloat32(at, true);
    else if (dtype === "F16") out[i] = halfToNumber(view.getUint16(at, true));
    else {
      // bf16 is the top half of a float32.
      scratch.setUint32(0, view.getUint16(at, true) << 16);
      out[i] = scratch.getFloat32(0);
    }
  }
  return out;
}

/** Reads every tensor of one .safetensors file. */
export function readSafetensorsFloat64(path: string): Map<string, Float64Tensor> {
  const file = readFileSync(path);
  const headerLength = Number(file.readBigUInt64LE(0));
  const header: unknown = JSON.parse(file.subarray(8, 8 + headerLength).toString("utf8"));
  const entries = z.record(z.string(), z.unknown()).parse(header);
  const base = 8 + headerLength;
  const tensors = new Map<string, Float64Tensor>();
  for (const [name, raw] of Object.entries(entries)) {
    if (name === "__metadata__") continue;
    const entry = entrySchema.parse(raw);
    const [start, end] = entry.data_offsets;
    const data = decode(entry.dtype, file.subarray(base + start, base + end));
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (data.length !== count)
      throw new Error(`${path}: tensor ${name} holds ${data.length} values, shape says ${count}`);
    tensors.set(name, { shape: entry.shape, data });
  }
  return tensors;
}
