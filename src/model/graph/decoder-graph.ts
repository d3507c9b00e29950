import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SquintError } from "../../errors.js";
import type { Checkpoint } from "../checkpoint/checkpoint.js";
import { TEXT } from "../checkpoint/weight-names.js";
import { mropeSlotAxes } from "../mrope.js";
import {
  type Attention,
  DECODER_INPUTS,
  type KvDtype,
  DECODER_OUTPUTS,
  GRAPH_FILES,
  type GraphEntry,
  type GraphMutation,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
  type TensorSpec,
} from "./contract.js";
import { attr, GraphBuilder } from "./graph-builder.js";
import { addFloatWeight, addLinear, type Int4AccuracyLevel, type WeightStorage } from "./linear.js";

/**
 * The text decoder graph (spec §1.1, §4, §3.7): RMSNorm (ORT SimplifiedLayerNormalization, the post-attention
 * one fused with the residual add by SkipSimplifiedLayerNormalization), q/k per-head RMSNorm before rotary,
 * interleaved MRoPE whose cos/sin are computed in the graph from the [3, B, S] position ids, grouped-query
 * attention over a KV cache, SwiGLU MLP, DeepStack chunk i added after layer i, and the (tied or untied) LM
 * head. Hidden states flow as [B·S, H] so every projection is one Gemm / MatMulNBits.
 */

export interface DecoderGraphOptions {
  storage: WeightStorage;
  /** Only the last position's logits ([B, 1, V]). */
  lastTokenLogits?: boolean;
  mutation?: GraphMutation | undefined;
  int4BlockSize?: number;
  /** MatMulNBits accuracy_level for the int4 projections (linear.ts). */
  int4AccuracyLevel?: Int4AccuracyLevel;
  /**
   * "plain": attention from standard ops (any padding, any EP). "gqa": com.microsoft GroupQueryAttention
   * (fused, faster; right padding only, see contract.ts). Same inputs and outputs either way. "gqa-shared": the
   * gqa graph over a fixed-capacity cache [B, kvh, maxSeq, hd] that past and present share (contract.ts).
   */
  attention?: Attention;
  /** Element type of the cache tensors; "float16" only with "append" attention (contract.ts). */
  kvDtype?: KvDtype;
  /** Which graph file to write: the decoder (default) or its prefill twin (contract.ts). */
  graph?: "decoder" | "prefill";
  /** Storage of the LM head, when it differs from the layers' (the int8 prefill twin keeps an int4 head). */
  headStorage?: WeightStorage;
}

/** Added to disallowed attention scores; large enough that exp() is exactly 0, small enough to never overflow. */
const MASKED_SCORE = -1e9;

/** Which position row (T=0, H=1, W=2) each rotary frequency slot reads; `chunked` is the test-only fault. */
export function decoderSlotAxes(section: [number, number, number], headDim: number, chunked: boolean): Uint8Array {
  if (!chunked) return mropeSlotAxes(section, headDim);
  const slots = new Uint8Array(headDim / 2);
  slots.fill(1, section[0], section[0] + section[1]);
  slots.fill(2, section[0] + section[1]);
  return slots;
}

/** Additive attention bias [B, 1, 1, S, T]: 0 where a query may attend a key, MASKED_SCORE elsewhere. */
function additiveMask(g: GraphBuilder, attentionMask: string, total: string, past: string): string {
  const keyPos = g.node("Unsqueeze", [g.node("Range", [g.int64([0], []), total, g.int64([1], [])]), g.int64([0])]);
  const queryPos = g.node("Unsqueeze", [g.node("Range", [past, total, g.int64([1], [])]), g.int64([1])]);
  const causal = g.node("LessOrEqual", [keyPos, queryPos]);
  const notPadded = g.node("Unsqueeze", [g.node("Cast", [attentionMask], { to: attr.int(9) }), g.int64([1, 2, 3])]);
  const allowed = g.node("And", [causal, notPadded]);
  return g.node("Where", [allowed, g.float32([0], []), g.float32([MASKED_SCORE], [])]);
}

/**
 * The two additive biases of "append" attention: over the T cache positions fed [B, 1, 1, 1, T] (key j
 * allowed when j < past and attention_mask[b, j] = 1; positions fed beyond `past` are masked: the engine
 * feeds one position when the cache is empty, see appendAttention) and over the new keys [B, 1, 1, S, S]
 * (causal, and attention_mask[b, past + j]).
 */
function appendMasks(
  g: GraphBuilder,
  attentionMask: string,
  past: string,
  total: string,
  cacheKeys: string,
): { cache: string; fresh: string } {
  // The cache's position axis: 1 in the positions-first layout [B, T, kvh, hd].
  const maxSeq = g.node("Gather", [g.node("Shape", [cacheKeys]), g.int64([1], [])], { axis: attr.int(0) });
  const zero = g.int64([0]);
  const pastEnd = g.node("Unsqueeze", [past, zero]);
  const pastMask = g.node("Slice", [attentionMask, zero, pastEnd, g.int64([1])]);
  // Positions at or past `past` are outside the cache: padding with 0 ("padded") gives the mask [B, maxSeq].
  const tail = g.node("Unsqueeze", [g.node("Sub", [maxSeq, past]), zero]);
  const padded = g.node("Pad", [
    pastMask,
    g.node("Concat", [g.int64([0, 0, 0]), tail], { axis: attr.int(0) }),
    g.int64([0], []),
  ]);
  const inCache = g.node("Cast", [padded], { to: attr.int(9) });
  const cacheAllowed = g.node("Unsqueeze", [inCache, g.int64([1, 2, 3])]);
  const newMask = g.node(
    "Cast",
    [g.node("Slice", [attentionMask, pastEnd, g.node("Unsqueeze", [total, zero]), g.int64([1])])],
    {
      to: attr.int(9),
    },
  );
  const seq = g.node("Sub", [total, past]);
  const newPos = g.node("Range", [g.int64([0], []), seq, g.int64([1], [])]);
  const causal = g.node("LessOrEqual", [
    g.node("Unsqueeze", [newPos, g.int64([0])]),
    g.node("Unsqueeze", [newPos, g.int64([1])]),
  ]);
  const freshAllowed = g.node("And", [causal, g.node("Unsqueeze", [newMask, g.int64([1, 2, 3])])]);
  const bias = (allowed: string) => g.node("Where", [allowed, g.float32([0], []), g.float32([MASKED_SCORE], [])]);
  return { cache: bias(cacheAllowed), fresh: bias(freshAllowed) };
}

/**
 * Attention for "append" decoders, in two parts so the cache is never concatenated with the new keys: scores
 * against the T cache positions fed and against the S new keys, one softmax over both, and the two weighted
 * sums added. The cache and the new keys/values are positions-first ([1, T, kvh, hd], batch 1): FusedMatMul's
 * transBatchB reads them as [kvh, T, hd] through strides, so the engine can feed a prefix *view* of its
 * buffers — attention costs the cached length, not the buffer's capacity — and nothing is transposed or
 * copied. q [1, nh, S, hd] is viewed as [kvh, groups·S, hd] so each KV head serves its query group in one
 * batched product. Returns [S, nh·hd].
 *
 * T ≥ 1 always: with an empty cache the engine feeds one (masked) position, because a zero-length operand
 * under transBatchB would make ORT's MatMul helper divide by zero.
 */
function appendAttention(
  g: GraphBuilder,
  q: string,
  k: string,
  v: string,
  cacheKeys: string,
  cacheValues: string,
  bias: { cache: string; fresh: string },
  dims: { nh: number; kvh: number; hd: number },
): string {
  const { nh, kvh, hd } = dims;
  const groups = nh / kvh;
  const qGrouped = g.node("Reshape", [q, g.int64([kvh, -1, hd])]);
  const positions3 = (x: string) => g.node("Squeeze", [x, g.int64([0])]);
  const scores = (keys: string) =>
    g.node(
      "FusedMatMul",
      [qGrouped, positions3(keys)],
      { transB: attr.int(1), transBatchB: attr.int(1), alpha: attr.float(hd ** -0.5) },
      { domain: "com.microsoft" },
    );
  const weighted = (probs: string, values: string) =>
    g.node("FusedMatMul", [probs, positions3(values)], { transBatchB: attr.int(1) }, { domain: "com.microsoft" });
  // [kvh, groups·S, T] → [1, kvh, groups, S, T] so the [.., S, T] biases broadcast over the group.
  const lastDim = (x: string, axis: number) => g.node("Shape", [x], { start: attr.int(axis) });
  const split5 = (x: string) =>
    g.node("Reshape", [x, g.node("Concat", [g.int64([1, kvh, groups, -1]), lastDim(x, 2)], { axis: attr.int(0) })]);
  const cacheScores = g.node("Add", [split5(scores(cacheKeys)), bias.cache]);
  const freshScores = g.node("Add", [split5(scores(k)), bias.fresh]);
  const probs = g.node("Softmax", [g.node("Concat", [cacheScores, freshScores], { axis: attr.int(-1) })], {
    axis: attr.int(-1),
  });
  const cacheLength = lastDim(cacheScores, 4);
  const freshLength = lastDim(freshScores, 4);
  const [pCache, pFresh] = g.nodeMulti(
    "Split",
    [probs, g.node("Concat", [cacheLength, freshLength], { axis: attr.int(0) })],
    { axis: attr.int(-1) },
    { outputs: 2 },
  );
  const merge3 = (x: string) =>
    g.node("Reshape", [x, g.node("Concat", [g.int64([kvh, -1]), lastDim(x, 4)], { axis: attr.int(0) })]);
  const context = g.node("Add", [weighted(merge3(pCache!), cacheValues), weighted(merge3(pFresh!), v)]);
  // [kvh, groups·S, hd] = [nh, S, hd] → [S, nh, hd] → [S, nh·hd]
  return g.node("Reshape", [
    g.node("Transpose", [g.node("Reshape", [context, g.int64([nh, -1, hd])])], { perm: attr.ints([1, 0, 2]) }),
    g.int64([-1, nh * hd]),
  ]);
}

export async function buildDecoderGraph(
  ckpt: Checkpoint,
  outDir: string,
  options: DecoderGraphOptions,
): Promise<GraphEntry> {
  const config = ckpt.config;
  const t = config.text;
  const H = t.hiddenSize;
  const nh = t.numHeads;
  const kvh = t.numKeyValueHeads;
  const hd = t.headDim;
  const groups = nh / kvh;
  const D = config.vision.deepstackVisualIndexes.length;
  const storage = options.storage;
  const file = GRAPH_FILES[options.graph ?? "decoder"];
  const dataFile = `${file}.data`;
  const g = new GraphBuilder({
    name: "qwen3_vl_decoder",
    externalDataPath: join(outDir, dataFile),
    externalDataLocation: dataFile,
  });
  const read = async (name: string, shape: number[]) => (await ckpt.read(name, shape)).data;
  const normWeight = async (name: string, size: number) =>
    addFloatWeight(g, name, await read(name, [size]), [size], storage === "fp32" ? "fp32" : "fp16");
  const rmsNorm = (x: string, weight: string) =>
    g.node("SimplifiedLayerNormalization", [x, weight], { axis: attr.int(-1), epsilon: attr.float(t.rmsNormEps) });
  const linear = async (x: string, prefix: string, n: number, k: number) =>
    addLinear(
      g,
      x,
      prefix,
      ckpt.rows(`${prefix}.weight`, [n, k]),
      t.attentionBias ? await read(`${prefix}.bias`, [n]) : undefined,
      storage,
      options.int4BlockSize,
      options.int4AccuracyLevel,
    );

  const inputsEmbeds = g.input(DECODER_INPUTS.inputsEmbeds, "float32", ["B", "S", H]);
  const attentionMask = g.input(DECODER_INPUTS.attentionMask, "int64", ["B", "past+S"]);
  const positionIds = g.input(DECODER_INPUTS.positionIds, "int64", [3, "B", "S"]);
  const deepstack = g.input(DECODER_INPUTS.deepstackEmbeds, "float32", ["B", "S", D * H]);
  // The shared-buffer variant's cache has a capacity (maxSeq) instead of a length; the graph is gqa's.
  const shared = options.attention === "gqa-shared";
  // "append": the cache inputs are the engine's fixed-capacity buffers, read but never written or returned;
  // the outputs are only the S new positions, which the engine appends itself (contract.ts).
  const append = options.attention === "append";
  const kvDtype = options.kvDtype ?? "float32";
  if (kvDtype === "float16" && !append) {
    throw new SquintError("INVALID_ARGUMENT", `a float16 KV cache needs --attention append, not ${options.attention}`, {
      hint: "Build with --attention append --kv-dtype float16, or keep the float32 cache.",
    });
  }
  // float16 cache: the cache is cast to float32 for attention, and the new positions are rounded to float16
  // before they are used, so a position reads the same whichever run wrote it (prefill chunk or step).
  const kv16 = kvDtype === "float16";
  const toFloat = (x: string) => (kv16 ? g.node("Cast", [x], { to: attr.int(1) }) : x);
  const toCache = (x: string) => (kv16 ? g.node("Cast", [x], { to: attr.int(10) }) : x);
  // "append" caches are positions-first ([B, T, kvh, hd], see appendAttention); the others heads-first.
  const cacheShape = (length: string): (string | number)[] =>
    append ? ["B", length, kvh, hd] : ["B", kvh, length, hd];
  const pastShape = cacheShape(shared ? "maxSeq" : append ? "cached" : "past");
  const presentShape = cacheShape(shared ? "maxSeq" : append ? "S" : "past+S");
  const pastKeys: string[] = [];
  const pastValues: string[] = [];
  for (let i = 0; i < t.numLayers; i++) {
    pastKeys.push(g.input(pastKeyName(i), kvDtype, pastShape));
    pastValues.push(g.input(pastValueName(i), kvDtype, pastShape));
  }

  // Shapes: bs = [B, S]; S and T = past + S as scalars.
  const embedShape = g.node("Shape", [inputsEmbeds]);
  const bs = g.node("Slice", [embedShape, g.int64([0]), g.int64([2])]);
  const seq = g.node("Gather", [embedShape, g.int64([1], [])], { axis: attr.int(0) });
  const total = g.node("Gather", [g.node("Shape", [attentionMask]), g.int64([1], [])], { axis: attr.int(0) });
  const past = g.node("Sub", [total, seq]);
  const shapeOf = (tail: number[]) => g.node("Concat", [bs, g.int64(tail)], { axis: attr.int(0) });

  const gqa = options.attention === "gqa" || shared;
  if (gqa && hd % 8 !== 0) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `--attention ${options.attention} needs head_dim divisible by 8, this model has ${hd}`,
      {
        hint: "Build with --attention plain.",
      },
    );
  }
  // Additive mask [B, 1, 1, S, T]: causal over absolute positions, and padding from attention_mask.
  const maskBias = gqa || append ? "" : additiveMask(g, attentionMask, total, past);
  const appendBias = append ? appendMasks(g, attentionMask, past, total, pastKeys[0]!) : undefined;
  // GroupQueryAttention takes per-row lengths instead: seqlens_k = (real tokens) − 1, and T.
  const seqlensK = gqa
    ? g.node(
        "Cast",
        [
          g.node("Sub", [
            g.node("ReduceSum", [attentionMask, g.int64([1])], { keepdims: attr.int(0) }),
            g.int64([1], []),
          ]),
        ],
        { to: attr.int(6) },
      )
    : "";
  const totalLength = gqa ? g.node("Cast", [total], { to: attr.int(6) }) : "";

  // Interleaved MRoPE: angle[b, s, j] = position[axis(j), b, s] · inv_freq[j], as one MatMul with a [3, hd/2]
  // table holding inv_freq[j] in row axis(j) (exact: the other two terms are multiplied by 0).
  const half = hd / 2;
  const axes = decoderSlotAxes(t.mropeSection, hd, options.mutation === "mrope-chunked");
  const ropeTable = new Float32Array(3 * half);
  const theta = Math.fround(t.ropeTheta);
  for (let j = 0; j < half; j++) ropeTable[axes[j]! * half + j] = 1 / Math.fround(theta ** Math.fround((2 * j) / hd));
  const positions = g.node("Transpose", [g.node("Cast", [positionIds], { to: attr.int(1) })], {
    perm: attr.ints([1, 2, 0]),
  });
  const freqs = g.node("MatMul", [positions, g.float32(ropeTable, [3, half])]);
  const emb = g.node("Concat", [freqs, freqs], { axis: attr.int(-1) });
  // Broadcast over heads: [B, 1, S, hd] for the plain path's [B, heads, S, hd], [B, S, 1, hd] where rotary
  // is applied positions-first (GQA's BSNH, append's cache layout).
  const positionsFirst = gqa || append;
  const cos = g.node("Unsqueeze", [g.node("Cos", [emb]), g.int64([positionsFirst ? 2 : 1])]);
  const sin = g.node("Unsqueeze", [g.node("Sin", [emb]), g.int64([positionsFirst ? 2 : 1])]);
  const rotary = (x: string) => {
    const [a, b] = g.nodeMulti("Split", [x, g.int64([half, half])], { axis: attr.int(-1) }, { outputs: 2 });
    const rotated = g.node("Concat", [g.node("Neg", [b!]), a!], { axis: attr.int(-1) });
    return g.node("Add", [g.node("Mul", [x, cos]), g.node("Mul", [rotated, sin])]);
  };

  let x = g.node("Reshape", [inputsEmbeds, g.int64([-1, H])]);
  const deepstackChunks =
    D === 0
      ? []
      : g.nodeMulti(
          "Split",
          [g.node("Reshape", [deepstack, g.int64([-1, D * H])]), g.int64(Array(D).fill(H))],
          { axis: attr.int(1) },
          { outputs: D },
        );
  const injectAfter = new Map<number, string[]>();
  deepstackChunks.forEach((chunk, i) => {
    const layer = options.mutation === "deepstack-wrong-layer" ? Math.min(i + 1, t.numLayers - 1) : i;
    injectAfter.set(layer, [...(injectAfter.get(layer) ?? []), chunk]);
  });
  const scale = gqa || append ? "" : g.float32([hd ** -0.5], []);
  const presentSpecs: TensorSpec[] = [];
  for (let i = 0; i < t.numLayers; i++) {
    const p = `${TEXT}.layers.${i}`;
    const normed = rmsNorm(x, await normWeight(`${p}.input_layernorm.weight`, H));
    const heads = async (proj: string, count: number, norm: string | undefined) => {
      const y = g.node("Reshape", [
        await linear(normed, `${p}.self_attn.${proj}`, count * hd, H),
        shapeOf([count, hd]),
      ]);
      return norm ? rmsNorm(y, await normWeight(`${p}.self_attn.${norm}.weight`, hd)) : y;
    };
    const toBNSH = (y: string) => g.node("Transpose", [y], { perm: attr.ints([0, 2, 1, 3]) });
    let merged: string;
    let presentKey: string;
    let presentValue: string;
    if (gqa) {
      const flat = (y: string, count: number) => g.node("Reshape", [y, shapeOf([count * hd])]);
      const q = flat(rotary(await heads("q_proj", nh, "q_norm")), nh);
      const k = flat(rotary(await heads("k_proj", kvh, "k_norm")), kvh);
      const v = flat(await heads("v_proj", kvh, undefined), kvh);
      const [out, pk, pv] = g.nodeMulti(
        "GroupQueryAttention",
        [q, k, v, pastKeys[i]!, pastValues[i]!, seqlensK, totalLength],
        { num_heads: attr.int(nh), kv_num_heads: attr.int(kvh), scale: attr.float(hd ** -0.5) },
        { domain: "com.microsoft", outputs: 3 },
      );
      merged = g.node("Reshape", [out!, g.int64([-1, nh * hd])]);
      presentKey = pk!;
      presentValue = pv!;
    } else if (append) {
      const q = toBNSH(rotary(await heads("q_proj", nh, "q_norm")));
      presentKey = toCache(rotary(await heads("k_proj", kvh, "k_norm")));
      presentValue = toCache(await heads("v_proj", kvh, undefined));
      const cache = { keys: toFloat(pastKeys[i]!), values: toFloat(pastValues[i]!) };
      merged = appendAttention(
        g,
        q,
        toFloat(presentKey),
        toFloat(presentValue),
        cache.keys,
        cache.values,
        appendBias!,
        { nh, kvh, hd },
      );
    } else {
      const q = rotary(toBNSH(await heads("q_proj", nh, "q_norm")));
      const k = rotary(toBNSH(await heads("k_proj", kvh, "k_norm")));
      const v = toBNSH(await heads("v_proj", kvh, undefined));
      presentKey = g.node("Concat", [pastKeys[i]!, k], { axis: attr.int(2) });
      presentValue = g.node("Concat", [pastValues[i]!, v], { axis: attr.int(2) });
      // GQA by broadcasting: q as [B, kvh, groups, S, hd] against k/v as [B, kvh, 1, T, hd].
      const q5 = g.node("Reshape", [g.node("Mul", [q, scale]), g.int64([0, kvh, groups, -1, hd])]);
      const k5 = g.node("Unsqueeze", [presentKey, g.int64([2])]);
      const v5 = g.node("Unsqueeze", [presentValue, g.int64([2])]);
      const scores = g.node("Add", [
        g.node("MatMul", [q5, g.node("Transpose", [k5], { perm: attr.ints([0, 1, 2, 4, 3]) })]),
        maskBias,
      ]);
      const context = g.node("MatMul", [g.node("Softmax", [scores], { axis: attr.int(-1) }), v5]);
      merged = g.node("Reshape", [
        g.node("Transpose", [g.node("Reshape", [context, g.int64([0, nh, -1, hd])])], {
          perm: attr.ints([0, 2, 1, 3]),
        }),
        g.int64([-1, nh * hd]),
      ]);
    }
    g.output(presentKeyName(i), kvDtype, presentShape, presentKey);
    g.output(presentValueName(i), kvDtype, presentShape, presentValue);
    presentSpecs.push(
      { name: presentKeyName(i), dtype: kvDtype, shape: presentShape },
      { name: presentValueName(i), dtype: kvDtype, shape: presentShape },
    );
    const attnOut = await linear(merged, `${p}.self_attn.o_proj`, H, nh * hd);
    const [normed2, , , residual] = g.nodeMulti(
      "SkipSimplifiedLayerNormalization",
      [attnOut, x, await normWeight(`${p}.post_attention_layernorm.weight`, H)],
      { epsilon: attr.float(t.rmsNormEps) },
      { domain: "com.microsoft", outputs: 4 },
    );
    const gate = await linear(normed2!, `${p}.mlp.gate_proj`, t.intermediateSize, H);
    const up = await linear(normed2!, `${p}.mlp.up_proj`, t.intermediateSize, H);
    const act = g.node("Mul", [g.node("Mul", [gate, g.node("Sigmoid", [gate])]), up]);
    x = g.node("Add", [residual!, await linear(act, `${p}.mlp.down_proj`, H, t.intermediateSize)]);
    for (const chunk of injectAfter.get(i) ?? []) x = g.node("Add", [x, chunk]);
  }

  let final = rmsNorm(x, await normWeight(`${TEXT}.norm.weight`, H));
  if (options.lastTokenLogits) {
    const last = g.node("Slice", [
      g.node("Reshape", [final, shapeOf([H])]),
      g.int64([-1]),
      g.int64([2 ** 62]),
      g.int64([1]),
    ]);
    final = g.node("Reshape", [last, g.int64([-1, H])]);
  }
  const headName = config.tieWordEmbeddings ? `${TEXT}.embed_tokens.weight` : "lm_head.weight";
  const logits2d = await addLinear(
    g,
    final,
    config.tieWordEmbeddings ? "lm_head(tied)" : "lm_head",
    ckpt.rows(headName, [t.vocabSize, H]),
    undefined,
    options.headStorage ?? storage,
    options.int4BlockSize,
    options.int4AccuracyLevel,
  );
  const logitsShape = options.lastTokenLogits
    ? g.node("Concat", [g.node("Slice", [bs, g.int64([0]), g.int64([1])]), g.int64([1, t.vocabSize])], {
        axis: attr.int(0),
      })
    : shapeOf([t.vocabSize]);
  const logitsDims = ["B", options.lastTokenLogits ? 1 : "S", t.vocabSize];
  g.output(DECODER_OUTPUTS.logits, "float32", logitsDims, g.node("Reshape", [logits2d, logitsShape]));

  await writeFile(
    join(outDir, file),
    g.finish({ squint_graph: "decoder", ...(options.mutation ? { squint_mutation: options.mutation } : {}) }),
  );
  const inputs: TensorSpec[] = [
    { name: DECODER_INPUTS.inputsEmbeds, dtype: "float32", shape: ["B", "S", H] },
    { name: DECODER_INPUTS.attentionMask, dtype: "int64", shape: ["B", "past+S"] },
    { name: DECODER_INPUTS.positionIds, dtype: "int64", shape: [3, "B", "S"] },
    { name: DECODER_INPUTS.deepstackEmbeds, dtype: "float32", shape: ["B", "S", D * H] },
  ];
  for (let i = 0; i < t.numLayers; i++) {
    inputs.push(
      { name: pastKeyName(i), dtype: kvDtype, shape: pastShape },
      { name: pastValueName(i), dtype: kvDtype, shape: pastShape },
    );
  }
  return {
    file,
    externalData: dataFile,
    inputs,
    outputs: [{ name: DECODER_OUTPUTS.logits, dtype: "float32", shape: logitsDims }, ...presentSpecs],
  };
}
