import { encodeFloat16Array, float32ArrayToBytes } from "../checkpoint/float-formats.js";
import { attr, type GraphBuilder } from "./graph-builder.js";
import { quantizeInt4 } from "./int4.js";

/**
 * How a graph stores its weights. Activations are float32 in every mode: fp16 weights are cast up in the
 * graph (ORT folds the cast at load), int4 weights feed MatMulNBits, which dequantizes block by block.
 */
export type WeightStorage = "fp32" | "fp16" | "int4";

export const INT4_DEFAULT_BLOCK_SIZE = 32;

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

export interface LinearWeights {
  /** [N, K]: the checkpoint's own [out, in] layout. */
  weight: Float32Array;
  n: number;
  k: number;
  bias?: Float32Array | undefined;
}

/**
 * y = x·Wᵀ + b for x of shape [M, K]. fp32/fp16 use Gemm with transB (no transposed copy of the weight);
 * int4 uses com.microsoft MatMulNBits, which takes the [N, K] layout directly.
 */
export function addLinear(
  g: GraphBuilder,
  x: string,
  name: string,
  w: LinearWeights,
  storage: WeightStorage,
  blockSize = INT4_DEFAULT_BLOCK_SIZE,
): string {
  if (storage === "int4") {
    const q = quantizeInt4(w.weight, w.n, w.k, blockSize);
    const packed = g.weight(`${name}.weight_q4`, "uint8", [w.n, q.blocks, blockSize / 2], q.packed);
    const scales = g.weight(`${name}.weight_scales`, "float32", [w.n * q.blocks], float32ArrayToBytes(q.scales));
    const zeros = g.weight(`${name}.weight_zero_points`, "uint8", [q.zeroPoints.length], q.zeroPoints);
    const y = g.node(
      "MatMulNBits",
      [x, packed, scales, zeros],
      {
        K: attr.int(w.k),
        N: attr.int(w.n),
        bits: attr.int(4),
        block_size: attr.int(blockSize),
        accuracy_level: attr.int(0),
      },
      { domain: "com.microsoft" },
    );
    if (!w.bias) return y;
    return g.node("Add", [y, g.weight(`${name}.bias`, "float32", [w.n], float32ArrayToBytes(w.bias))]);
  }
  const weight = addFloatWeight(g, `${name}.weight`, w.weight, [w.n, w.k], storage);
  const inputs = [x, weight];
  if (w.bias) inputs.push(addFloatWeight(g, `${name}.bias`, w.bias, [w.n], storage));
  return g.node("Gemm", inputs, { transB: attr.int(1) });
}
