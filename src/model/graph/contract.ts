import { z } from "zod";

/**
 * The I/O contract of the ONNX graphs `squint models build` writes. This file is the one place that names
 * the graphs' inputs and outputs, their shapes and dtypes, and says what the caller must feed. The runtime,
 * the parity tests and the builders all read it; change it only additively.
 *
 * Three graphs (mobius-style split, spec §9.2):
 *
 * 1. vision (`vision.onnx`) — ONE attention segment per run: one image (grid t = 1) or one 2-frame group of a
 *    video (vision attention is block-diagonal per image / per 2-frame group, spec §2.2, §3.4; running the
 *    encoder once per segment is how the block-diagonal mask is realised). For a segment with patch grid
 *    (gh, gw), N = gh·gw:
 *      pixel_values       float32 [N, C·T·P·P] (= [N, 1536]) rows in 2×2 merge-block order (spec §2.1 step 5)
 *      pos_embed_indices  int64   [N, 4]  rows of the learned pos_embed table (bilinear corners), block order
 *      pos_embed_weights  float32 [N, 4]  the matching bilinear weights
 *      rotary_positions   int64   [N, 2]  (row, col) of each patch in patch units, block order
 *    The three index/weight inputs depend only on (gh, gw): compute them with `visionSegmentInputs` from
 *    src/model/graph/vision-inputs.ts (never by hand). Outputs, M = N / merge² visual tokens:
 *      image_features          float32 [M, out_hidden]  main merger output, in token (block) order
 *      deepstack_features_{j}  float32 [M, out_hidden]  j = 0..D-1, D = len(deepstack_visual_indexes)
 *
 * 2. embedding (`embedding.onnx`):
 *      input_ids      int64   [B, S]
 *      inputs_embeds  float32 [B, S, H]  (output)
 *    The caller scatters image_features into the image/video pad positions (sequence order) itself.
 *
 * 3. decoder (`decoder.onnx`), L layers, kvh KV heads, head dim hd, D DeepStack taps:
 *      inputs_embeds             float32 [B, S, H]
 *      attention_mask            int64   [B, past + S]   1 = real token, 0 = padding
 *      position_ids              int64   [3, B, S]       rows T, H, W (spec §4.2); decode: cache_len + rope_delta
 *      deepstack_embeds          float32 [B, S, D·H]     chunk i (columns i·H..(i+1)·H) is added to the hidden
 *                                                        state after decoder layer i; zeros at non-visual
 *                                                        positions and for every decode step
 *      past_key_values.{i}.key   float32 [B, kvh, past, hd]  (past = 0 on the first step: feed a [B,kvh,0,hd] tensor)
 *      past_key_values.{i}.value float32 [B, kvh, past, hd]
 *    outputs:
 *      logits                    float32 [B, S, V]  or [B, 1, V] (last position only) when the manifest says
 *                                                   `logits: "last"`
 *      present.{i}.key / .value  float32 [B, kvh, past + S, hd]  keys after k_norm and rotary (spec §1.1)
 *    With `attention: "gqa"` (com.microsoft GroupQueryAttention) the tensors are the same, but padding is only
 *    supported on the right: every row of attention_mask must be ones followed by zeros (batch 1: all ones).
 *    Such a build needs head_dim % 8 == 0 and, being float32, runs on the CPU EP only (ORT's CUDA GQA kernel
 *    takes fp16/bf16); `executionProviders` in the manifest says so.
 *    With `attention: "gqa-shared"` the graph is the "gqa" one, but the cache tensors have a fixed capacity:
 *      past_key_values.{i}.key/.value  float32 [B, kvh, maxSeq, hd]  positions 0..past-1 hold the cache, the
 *                                                                    rest is ignored (maxSeq ≥ past + S)
 *      present.{i}.key/.value          float32 [B, kvh, maxSeq, hd]  the same buffer, S new positions written
 *                                                                    at past..past+S-1
 *    attention_mask keeps its [B, past + S] shape (it says how many positions are real). Feed the same tensor
 *    as past input and as preallocated present output (session.run(feeds, fetches)): ORT's CPU kernel then
 *    shares the buffer (past_present_share_buffer) and only writes the new positions, so the graph copies
 *    nothing per step. Caveat: onnxruntime-node 1.30's binding still converts every output, preallocated or
 *    not, into a fresh JS array, i.e. copies the whole capacity back once per run (measured: slower than
 *    "gqa" at 4k, bench/engine/shared-cache.ts). Batch 1, CPU EP only.
 *    With `attention: "append"` the cache is positions-first (`kvLayout: "positions-first"`): the cache inputs
 *    are [1, T, kvh, hd] views of the first T = max(past, 1) positions of the engine's buffers (read only;
 *    with an empty cache one masked position is fed), and present.{i}.* are the S new positions [1, S, kvh,
 *    hd], which the engine writes into the buffers. Batch 1. Builds before this layout (no `kvLayout`) took
 *    the whole [1, kvh, maxSeq, hd] buffers; the engine still runs them.
 *    `kvDtype: "float16"` ("append" only) makes the cache inputs and present outputs float16: half the KV
 *    memory. The graph casts the cache to float32 for attention and rounds the new keys/values to float16
 *    before using them, so a position reads the same values whichever run wrote it.
 *
 * Weights per dtype: fp32 stores everything in float32; fp16 stores every weight in float16 (cast to
 * float32 in the graph; activations stay float32); int4 stores the decoder's linear layers and the LM head
 * as 4-bit MatMulNBits blocks (`int4BlockSize`, asymmetric, per-block zero points), the embedding table and
 * the vision encoder in float16; int8 stores them as per-row int8 (MatMulIntegerToFloat, activations rounded
 * to int8 per row in the graph), the rest as int4 does.
 *
 * `visionDtype: "int8"`: the vision encoder's ViT and merger Linear layers stored and computed as int8 too.
 *
 * `prefillDtype: "int8"` (int4 builds): a second decoder graph, decoder-prefill.onnx (`graphs.prefill`), with
 * the decoder's exact inputs and outputs but int8 linear layers (the LM head stays int4: it sees one row with
 * last-token logits). The engine runs it for chunks of several tokens, where int8 GEMMs on AMX/VNNI are
 * several times faster than MatMulNBits, and the int4 decoder for single-token steps, where reading half
 * the bytes wins. Both read and write the same cache, so they can alternate freely.
 *
 * Every float input and output is float32 whatever the weight dtype (`ioDtype` in the manifest); fp16 and
 * int4 builds change the stored weights, not the interface. The one exception is the KV cache of a
 * `kvDtype: "float16"` build (above).
 */

/** Decoder attention variants (see the file comment); "gqa-shared" was added for issue 4's no-copy cache. */
export const attentionSchema = z.enum(["plain", "gqa", "gqa-shared", "append"]);
export type Attention = z.infer<typeof attentionSchema>;

export const GRAPH_FILES = {
  vision: "vision.onnx",
  embedding: "embedding.onnx",
  decoder: "decoder.onnx",
  prefill: "decoder-prefill.onnx",
} as const;

export const MANIFEST_FILE = "manifest.json";

export const VISION_INPUTS = {
  pixelValues: "pixel_values",
  posEmbedIndices: "pos_embed_indices",
  posEmbedWeights: "pos_embed_weights",
  rotaryPositions: "rotary_positions",
} as const;

export const VISION_OUTPUTS = {
  imageFeatures: "image_features",
} as const;

export function deepstackFeaturesName(j: number): string {
  return `deepstack_features_${j}`;
}

export const EMBEDDING_INPUTS = { inputIds: "input_ids" } as const;
export const EMBEDDING_OUTPUTS = { inputsEmbeds: "inputs_embeds" } as const;

export const DECODER_INPUTS = {
  inputsEmbeds: "inputs_embeds",
  attentionMask: "attention_mask",
  positionIds: "position_ids",
  deepstackEmbeds: "deepstack_embeds",
} as const;

export const DECODER_OUTPUTS = { logits: "logits" } as const;

export function pastKeyName(layer: number): string {
  return `past_key_values.${layer}.key`;
}
export function pastValueName(layer: number): string {
  return `past_key_values.${layer}.value`;
}
export function presentKeyName(layer: number): string {
  return `present.${layer}.key`;
}
export function presentValueName(layer: number): string {
  return `present.${layer}.value`;
}

/** Element type of the KV cache tensors (past inputs, present outputs); float16 needs "append" attention. */
export const kvDtypeSchema = z.enum(["float32", "float16"]);
export type KvDtype = z.infer<typeof kvDtypeSchema>;

/**
 * Axis order of an "append" decoder's cache tensors (file comment): "positions-first" [B, T, kvh, hd] since
 * the prefill work of issue 9, "heads-first" [B, kvh, maxSeq, hd] (every other attention, and append builds
 * made before, whose manifests have no `kvLayout`).
 */
export const kvLayoutSchema = z.enum(["heads-first", "positions-first"]);
export type KvLayout = z.infer<typeof kvLayoutSchema>;

/**
 * How the vision encoder's attention is built: "fused" (com.microsoft RotaryEmbedding and MultiHeadAttention,
 * whose CPU kernel never materialises the [heads, N, N] scores) or "plain" (rotary and softmax attention from
 * standard ops, the form before issue 9; kept for parity comparison and EPs without those contrib ops).
 */
export const visionAttentionSchema = z.enum(["fused", "plain"]);
export type VisionAttention = z.infer<typeof visionAttentionSchema>;

/** Weight storage of a build. int4 = com.microsoft MatMulNBits (block-quantized) for the big MatMuls. */
export const buildDtypeSchema = z.enum(["fp32", "fp16", "int4", "int8"]);
export type BuildDtype = z.infer<typeof buildDtypeSchema>;

export const prefillDtypeSchema = z.enum(["int8"]);
export type PrefillDtype = z.infer<typeof prefillDtypeSchema>;

/** The vision encoder's Linear layers, when not stored like its other weights (vision-graph.ts). */
export const visionDtypeSchema = z.enum(["int8"]);
export type VisionDtype = z.infer<typeof visionDtypeSchema>;

/**
 * Test-only faults the builder can inject, one at a time, so parity tests can prove they catch each bug.
 * Never set outside tests; the manifest records it so a mutated build cannot be mistaken for a real one.
 */
export const graphMutationSchema = z.enum([
  /** ViT 2-D rotary not applied to q/k. */
  "vision-rotary-dropped",
  /** ViT MLP uses erf GELU and the mergers use tanh GELU (the reverse of spec §3.4/§3.5). */
  "gelu-swapped",
  /** DeepStack chunk i added after decoder layer i + 1 instead of i. */
  "deepstack-wrong-layer",
  /** Decoder MRoPE frequency slots assigned to T/H/W in contiguous chunks (Qwen2-VL style), not interleaved. */
  "mrope-chunked",
  /** pos_embed_indices/weights in raster order while patches are in 2×2 block order. */
  "pos-embed-raster",
]);
export type GraphMutation = z.infer<typeof graphMutationSchema>;

const tensorSpecSchema = z.object({
  name: z.string(),
  dtype: z.enum(["float32", "float16", "int64", "int32"]),
  /** Symbolic dims are strings ("N", "B", "S", "past", "past+S"), fixed dims numbers. */
  shape: z.array(z.union([z.number().int().nonnegative(), z.string()])),
});
export type TensorSpec = z.infer<typeof tensorSpecSchema>;

const graphEntrySchema = z.object({
  file: z.string(),
  inputs: z.array(tensorSpecSchema),
  outputs: z.array(tensorSpecSchema),
  /** External-data file holding this graph's weights (relative to the manifest), if any. */
  externalData: z.string().optional(),
});
export type GraphEntry = z.infer<typeof graphEntrySchema>;

export const manifestSchema = z.object({
  format: z.literal("squint-onnx"),
  version: z.literal(1),
  dtype: buildDtypeSchema,
  /** Dtype of every float input/output (see the file comment). */
  ioDtype: z.literal("float32"),
  /** Execution providers the graphs were built for (all use ops those EPs implement). */
  executionProviders: z.array(z.string()),
  attention: attentionSchema,
  /** Vision attention form; absent in builds before issue 9's vision work ("plain"). */
  visionAttention: visionAttentionSchema.optional(),
  /** KV cache element type; absent in builds before issue 9 (float32). */
  kvDtype: kvDtypeSchema.optional(),
  /** Cache axis order; absent means "heads-first" (see kvLayoutSchema). */
  kvLayout: kvLayoutSchema.optional(),
  logits: z.enum(["all", "last"]),
  /** int4 builds with a second, int8 decoder for prefill chunks (file comment). */
  prefillDtype: prefillDtypeSchema.optional(),
  /** Vision Linear layers in int8 (`--vision-dtype int8`); absent: stored as the rest of the vision weights. */
  visionDtype: visionDtypeSchema.optional(),
  /** int4 only: MatMulNBits block size along K. */
  int4BlockSize: z.number().int().positive().optional(),
  /** int4 only: MatMulNBits accuracy_level (0 = float32 compute, 4 = int8 activations); absent in older builds (0). */
  int4AccuracyLevel: z.number().int().min(0).max(4).optional(),
  opset: z.number().int(),
  model: z.object({
    hiddenSize: z.number().int(),
    numLayers: z.number().int(),
    numHeads: z.number().int(),
    numKeyValueHeads: z.number().int(),
    headDim: z.number().int(),
    vocabSize: z.number().int(),
    deepstackLayers: z.number().int(),
    tieWordEmbeddings: z.boolean(),
    visionHiddenSize: z.number().int(),
    visionPatchInput: z.number().int(),
    spatialMergeSize: z.number().int(),
    imageTokenId: z.number().int(),
    videoTokenId: z.number().int(),
  }),
  graphs: z.object({
    vision: graphEntrySchema,
    embedding: graphEntrySchema,
    decoder: graphEntrySchema,
    /** Present with `prefillDtype`: the decoder's twin for multi-token chunks (file comment). */
    prefill: graphEntrySchema.optional(),
  }),
  /** Present only on test builds with an injected fault. */
  mutation: graphMutationSchema.optional(),
  /** The checkpoint the graphs came from (directory name and config.json sha256). */
  source: z.object({ checkpoint: z.string(), configSha256: z.string() }),
});
export type Manifest = z.infer<typeof manifestSchema>;
