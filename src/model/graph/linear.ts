import type { RowSource } from "../checkpoint/checkpoint.js";
import { encodeFloat16Array, float32ArrayToBytes } from "../checkpoint/float-formats.js";
import { attr, type GraphBuilder } from "./graph-builder.js";
import { quantizeInt4 } from "./int4.js";
import { quantizeInt8Rows } from "./int8.js";

/**
 * How a graph stores its weights. Activations are float32 in every mode: fp16 weights are cast up in the
 * graph (ORT folds the cast at load), int4 weights feed MatMulNBits, which dequantizes block by block.
 */
export type WeightStorage = "fp32" | "fp16" | "int4" | "int8";

export const INT4_DEFAULT_BLOCK_SIZE = 32;

/**
 * MatMulNBits `accuracy_level`: the lowest precision the kernel may compute in. 0 dequantizes the weights to
 * float32 and multiplies in float32 (exact to the stored weights); 4 quantizes the activations to int8 per
 * block and uses integer dot products (AVX2/AVX-512 VNNI on x86, the kernels llama.cpp's Q4_0 path resembles),
 * several times faster at decode, at the cost of int8 rounding of the activations (test/parity restates the
 * bounds). Default 4.
 */
export const INT4_ACCURACY_LEVELS = [0, 1, 2, 3, 4] as const;
export type Int4AccuracyLevel = (typeof INT4_ACCURACY_LEVELS)[number];
export const INT4_DEFAULT_ACCURACY_LEVEL: Int4AccuracyLevel = 4;

/** Weights are converted in slices of at most this many elements (32 MiB of float32). */
const CHUNK_ELEMENTS = 8 * 1024 * 1024;

/** A float weight of any shape as a float32-valued graph tensor (fp16 stored, then Cast). */
export function addFloatWeight(
  g: GraphBuilder,
  name: string,
  data: Float32Array,
  dims: number[],
  storage: WeightStorage,
): string {
  if (storage === "fp32") return g.weight(name, "float32", dims, float32ArrayToBytes(data));
  const half = g.weight(name, "float16", dims, encodeFloat16Array(data, "fp16"));
  return g.node("Cast", [half], { to: attr.int(1) });
}

/** Row slices of a RowSource, each at most CHUNK_ELEMENTS, with the index of their first row. */
async function* rowSlices(source: RowSource): AsyncGenerator<{ start: number; rows: Float32Array }> {
  const step = Math.max(1, Math.floor(CHUNK_ELEMENTS / Math.max(1, source.k)));
  for (let start = 0; start < source.n; start += step) {
    yield { start, rows: await source.read(start, Math.min(step, source.n - start)) };
  }
}

/** Row slices of a RowSource mapped through `encode`. */
async function* rowChunks(source: RowSource, encode: (rows: Float32Array) => Uint8Array): AsyncGenerator<Uint8Array> {
  for await (const { rows } of rowSlices(source)) yield encode(rows);
}

/**
 * A [n, k] float weight streamed from its source into the external-data file in fp32 or fp16 (the latter
 * cast back to float32 in the graph). Never holds more than one slice.
 */
export async function addStreamedFloatWeight(
  g: GraphBuilder,
  name: string,
  source: RowSource,
  storage: "fp32" | "fp16",
  options: { castToFloat32?: boolean } = {},
): Promise<string> {
  if (storage === "fp32") {
    return g.weightFromChunks(name, "float32", [source.n, source.k], rowChunks(source, float32ArrayToBytes));
  }
  const half = await g.weightFromChunks(
    name,
    "float16",
    [source.n, source.k],
    rowChunks(source, (rows) => encodeFloat16Array(rows, "fp16")),
  );
  return options.castToFloat32 === false ? half : g.node("Cast", [half], { to: attr.int(1) });
}

/**
 * y = x·Wᵀ + b for x of shape [M, K] and W in the checkpoint's own [out, in] = [N, K] layout.
 * fp32/fp16 use Gemm with transB (no transposed copy of the weight); int4 uses com.microsoft MatMulNBits,
 * which takes the [N, K] layout directly. The weight is streamed in row slices.
 */
export async function addLinear(
  g: GraphBuilder,
  x: string,
  name: string,
  weight: RowSource,
  bias: Float32Array | undefined,
  storage: WeightStorage,
  blockSize = INT4_DEFAULT_BLOCK_SIZE,
  accuracyLevel: Int4AccuracyLevel = INT4_DEFAULT_ACCURACY_LEVEL,
): Promise<string> {
  const { n, k } = weight;
  if (storage === "int8") return addInt8Linear(g, x, name, weight, bias);
  if (storage === "int4") {
    const blocks = Math.ceil(k / blockSize);
    // Quantization is per row, so row slices quantize independently and concatenate; scales and zero
    // points (1/8 and 1/64 of the float32 size) are gathered while the packed nibbles stream out.
    const scales = new Float32Array(n * blocks);
    const zpBytes = Math.ceil(blocks / 2);
    const zeroPoints = new Uint8Array(n * zpBytes);
    let row = 0;
    const packed = await g.weightFromChunks(
      `${name}.weight_q4`,
      "uint8",
      [n, blocks, blockSize / 2],
      rowChunks(weight, (rows) => {
        const count = rows.length / k;
        const q = quantizeInt4(rows, count, k, blockSize);
        scales.set(q.scales, row * blocks);
        zeroPoints.set(q.zeroPoints, row * zpBytes);
        row += count;
        return q.packed;
      }),
    );
    const scaleName = g.weight(`${name}.weight_scales`, "float32", [n * blocks], float32ArrayToBytes(scales));
    const zeroName = g.weight(`${name}.weight_zero_points`, "uint8", [zeroPoints.length], zeroPoints);
    const y = g.node(
      "MatMulNBits",
      [x, packed, scaleName, zeroName],
      {
        K: attr.int(k),
        N: attr.int(n),
        bits: attr.int(4),
        block_size: attr.int(blockSize),
        accuracy_level: attr.int(accuracyLevel),
      },
      { domain: "com.microsoft" },
    );
    if (!bias) return y;
    return g.node("Add", [y, g.weight(`${name}.bias`, "float32", [n], float32ArrayToBytes(bias))]);
  }
  const w = await addStreamedFloatWeight(g, `${name}.weight`, weight, storage);
  const inputs = [x, w];
  if (bias) inputs.push(addFloatWeight(g, `${name}.bias`, bias, [n], storage));
  return g.node("Gemm", inputs, { transB: attr.int(1) });
}

/**
 * int8 weights, symmetric per output row, times int8 activations quantized per row of x (one scale per token,
 * as llama.cpp's Q8 activations but per row instead of per 32): com.microsoft MatMulIntegerToFloat, which ORT
 * runs on MLAS's u8·s8 QGEMM — AMX tiles or AVX-512 VNNI where the CPU has them, several times the int4
 * MatMulNBits rate once a prefill chunk gives it many rows (bench/engine/int8-prefill.ts). Per-row scales
 * keep one token's outlier activations from crushing the other rows of a chunk, which a per-tensor scale
 * (DynamicQuantizeMatMul) would do. The weight is stored [K, N] (the op has no transB), so each [N, K]
 * matrix is transposed in memory once while building.
 */
async function addInt8Linear(
  g: GraphBuilder,
  x: string,
  name: string,
  weight: RowSource,
  bias: Float32Array | undefined,
): Promise<string> {
  const { n, k } = weight;
  // [K, N]: the op has no transB, so rows of the [N, K] weight become columns here.
  const transposed = new Int8Array(k * n);
  const scales = new Float32Array(n);
  for await (const { start, rows } of rowSlices(weight)) {
    const q = quantizeInt8Rows(rows, rows.length / k, k);
    scales.set(q.scales, start);
    for (let r = 0; r < q.n; r++) {
      for (let c = 0; c < k; c++) transposed[c * n + start + r] = q.values[r * k + c]!;
    }
  }
  const b = g.weight(`${name}.weight_q8`, "int8", [k, n], new Uint8Array(transposed.buffer));
  const bScale = g.weight(`${name}.weight_scales`, "float32", [n], float32ArrayToBytes(scales));
  // Per-row step of x: max |x| over the row (max and -min: no |x| tensor is written) / 127, one per row of
  // the [M, K] input. QuantizeLinear takes it per axis 0 (with a per-row zero point of 128, so the rows fill
  // uint8 symmetrically), which saves dividing x by it first.
  const lastAxis = g.weight(`${name}.act_axis`, "int64", [1], new Uint8Array(new BigInt64Array([-1n]).buffer));
  const flat = { keepdims: attr.int(0) };
  const rowMax = g.node("Max", [
    g.node("ReduceMax", [x, lastAxis], flat),
    g.node("Neg", [g.node("ReduceMin", [x, lastAxis], flat)]),
    g.weight(`${name}.act_floor`, "float32", [], float32ArrayToBytes(new Float32Array([1e-30]))),
  ]);
  const rowStep = g.node("Mul", [
    rowMax,
    g.weight(`${name}.act_inv127`, "float32", [], float32ArrayToBytes(new Float32Array([1 / 127]))),
  ]);
  const zero = g.weight(`${name}.act_zero`, "uint8", [], new Uint8Array([128]));
  const rowZero = g.node("Expand", [zero, g.node("Shape", [rowStep])]);
  const xq = g.node("QuantizeLinear", [x, rowStep, rowZero], { axis: attr.int(0) });
  const one = g.weight(`${name}.act_unit`, "float32", [], float32ArrayToBytes(new Float32Array([1])));
  const product = g.node("MatMulIntegerToFloat", [xq, b, one, bScale, zero], {}, { domain: "com.microsoft" });
  const y = g.node("Mul", [product, g.node("Unsqueeze", [rowStep, lastAxis])]);
  if (!bias) return y;
  return g.node("Add", [y, g.weight(`${name}.bias`, "float32", [n], float32ArrayToBytes(bias))]);
}
