import { decodeFloat16Array, encodeFloat16Array } from "../../../src/model/checkpoint/float-formats.js";
import { dequantizeInt4, quantizeInt4 } from "../../../src/model/graph/int4.js";
import { dequantizeInt8Rows, quantizeInt8Rows } from "../../../src/model/graph/int8.js";
import type { Float64Tensor } from "./safetensors.js";
import type { ReferenceCheckpoint } from "./weights.js";

/**
 * The checkpoint as a reduced-precision build stores it: every weight rounded to fp16 and, for int4 (int8), the
 * decoder's Linear weights (and the LM head) quantized and dequantized block-wise (per row). The reference run on
 * these weights separates "the graph computes the wrong thing" from "the weights lost precision": an
 * fp16/int4 graph must match it as tightly as an fp32 graph matches the plain reference.
 * The rounding and the int4 format are the builder's (storage formats, not model math); the check that
 * the int4 packing matches what ONNX Runtime's MatMulNBits computes is the parity test itself.
 */
const QUANTIZED_LINEAR =
  /^model\.language_model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/;

/** The vision encoder's ViT and merger Linear weights (`visionDtype: "int8"` builds quantize these). */
const VISION_LINEAR =
  /^model\.visual\.(blocks\.\d+\.(attn\.(qkv|proj)|mlp\.linear_fc[12])|(merger|deepstack_merger_list\.\d+)\.linear_fc[12])\.weight$/;

function roundToFp16(data: Float64Array): Float64Array {
  return Float64Array.from(decodeFloat16Array(encodeFloat16Array(Float32Array.from(data), "fp16"), "fp16"));
}

function quantizedRoundTrip(t: Float64Tensor, dtype: "int4" | "int8", blockSize: number): Float64Array {
  const [n, k] = t.shape as [number, number];
  const data = Float32Array.from(t.data);
  return Float64Array.from(
    dtype === "int8"
      ? dequantizeInt8Rows(quantizeInt8Rows(data, n, k))
      : dequantizeInt4(quantizeInt4(data, n, k, blockSize)),
  );
}

export function asStoredWeights(
  ck: ReferenceCheckpoint,
  dtype: "fp16" | "int4" | "int8",
  int4BlockSize = 32,
  options: { visionLinears?: "int8" } = {},
): ReferenceCheckpoint {
  const tensors = new Map<string, Float64Tensor>();
  for (const [name, t] of ck.tensors) {
    if (options.visionLinears === "int8" && VISION_LINEAR.test(name)) {
      tensors.set(name, { shape: t.shape, data: quantizedRoundTrip(t, "int8", int4BlockSize) });
      continue;
    }
    const quantize = dtype !== "fp16" && (QUANTIZED_LINEAR.test(name) || name === "lm_head.weight");
    tensors.set(name, {
      shape: t.shape,
      data: quantize ? quantizedRoundTrip(t, dtype, int4BlockSize) : roundToFp16(t.data),
    });
  }
  if (dtype !== "fp16" && ck.config.tieWordEmbeddings) {
    // A tied head is one table in the checkpoint but two in an int4/int8 build: an fp16 lookup table and a
    // quantized head. Untie it here so each use reads its own copy.
    const table = ck.tensors.get("model.language_model.embed_tokens.weight");
    if (!table) throw new Error("asStoredWeights: no embed_tokens");
    tensors.set("lm_head.weight", { shape: table.shape, data: quantizedRoundTrip(table, dtype, int4BlockSize) });
    return { config: { ...ck.config, tieWordEmbeddings: false }, tensors };
  }
  return { config: ck.config, tensors };
}
