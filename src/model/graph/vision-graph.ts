import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SquintError } from "../../errors.js";
import type { Checkpoint } from "../checkpoint/checkpoint.js";
import { VISUAL } from "../checkpoint/weight-names.js";
import {
  deepstackFeaturesName,
  GRAPH_FILES,
  type GraphEntry,
  type GraphMutation,
  type TensorSpec,
  VISION_INPUTS,
  VISION_OUTPUTS,
  type VisionAttention,
} from "./contract.js";
import { attr, GraphBuilder } from "./graph-builder.js";
import { addFloatWeight, addLinear, type WeightStorage } from "./linear.js";

/**
 * The vision encoder graph (spec §3): patch embed as a Linear over the 1536-vector, interpolated learned
 * position embedding (indices and weights fed by the caller, see vision-inputs.ts), 2-D rotary computed in the
 * graph from (row, col), pre-norm ViT blocks with full attention over one segment, the main merger and the
 * DeepStack mergers as extra outputs. Vision weights are fp32, or fp16 for fp16/int4 builds.
 */

export interface VisionGraphOptions {
  storage: WeightStorage;
  /**
   * "int8": the ViT blocks' and mergers' Linear layers as per-row int8 (linear.ts), several times faster on
   * CPUs with AMX or AVX-512 VNNI; the patch embedding, norms and position table keep `storage`.
   */
  linears?: "int8" | undefined;
  mutation?: GraphMutation | undefined;
  /** contract.ts VisionAttention; default "fused". */
  attention?: VisionAttention | undefined;
}

const LAYER_NORM_EPS = 1e-6;

/** transformers activation names → GELU form. */
const VIT_ACTIVATIONS: Record<string, "tanh" | "erf"> = {
  gelu_pytorch_tanh: "tanh",
  gelu_new: "tanh",
  gelu: "erf",
};

export async function buildVisionGraph(
  ckpt: Checkpoint,
  outDir: string,
  options: VisionGraphOptions,
): Promise<GraphEntry> {
  const v = ckpt.config.vision;
  const h = v.hiddenSize;
  const heads = v.numHeads;
  const hd = v.headDim;
  const merge = v.spatialMergeSize;
  const mergedDim = h * merge * merge;
  const patchDim = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
  const storage: WeightStorage = options.storage === "fp32" ? "fp32" : "fp16";
  const dataFile = `${GRAPH_FILES.vision}.data`;
  const g = new GraphBuilder({
    name: "qwen3_vl_vision",
    externalDataPath: join(outDir, dataFile),
    externalDataLocation: dataFile,
  });
  const read = async (name: string, shape: number[]) => (await ckpt.read(name, shape)).data;
  const linearStorage: WeightStorage = options.linears ?? storage;
  const linear = async (x: string, prefix: string, n: number, k: number) =>
    addLinear(g, x, prefix, ckpt.rows(`${prefix}.weight`, [n, k]), await read(`${prefix}.bias`, [n]), linearStorage);
  const layerNorm = async (x: string, prefix: string, size: number) =>
    g.node(
      "LayerNormalization",
      [
        x,
        addFloatWeight(g, `${prefix}.weight`, await read(`${prefix}.weight`, [size]), [size], storage),
        addFloatWeight(g, `${prefix}.bias`, await read(`${prefix}.bias`, [size]), [size], storage),
      ],
      { axis: attr.int(-1), epsilon: attr.float(LAYER_NORM_EPS) },
    );
  const swapped = options.mutation === "gelu-swapped";
  // The ViT MLP follows vision_config.hidden_act (gelu_pytorch_tanh in every released checkpoint); the
  // mergers always use exact nn.GELU() (spec §3.5).
  const vitGelu = VIT_ACTIVATIONS[v.hiddenAct];
  if (!vitGelu) {
    throw new SquintError("INVALID_CONFIG", `vision_config.hidden_act "${v.hiddenAct}" is not supported`, {
      hint: `Qwen3-VL's ViT uses ${Object.keys(VIT_ACTIVATIONS).join(" or ")}; is this a Qwen3-VL checkpoint?`,
    });
  }
  const gelu = (x: string, kind: "tanh" | "erf") => {
    const actual = swapped ? (kind === "tanh" ? "erf" : "tanh") : kind;
    return g.node("Gelu", [x], actual === "tanh" ? { approximate: attr.string("tanh") } : {});
  };

  const pixels = g.input(VISION_INPUTS.pixelValues, "float32", ["N", patchDim]);
  const posIndices = g.input(VISION_INPUTS.posEmbedIndices, "int64", ["N", 4]);
  const posWeights = g.input(VISION_INPUTS.posEmbedWeights, "float32", ["N", 4]);
  const rotaryPositions = g.input(VISION_INPUTS.rotaryPositions, "int64", ["N", 2]);

  // Conv3d with kernel = stride = (T, P, P) over rows already flattened [c][t][py][px] is a Linear (spec §3.1).
  const patchShape = [h, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize];
  const patchRows = ckpt.rows(`${VISUAL}.patch_embed.proj.weight`, patchShape);
  let x = await addLinear(
    g,
    pixels,
    `${VISUAL}.patch_embed.proj`,
    patchRows,
    await read(`${VISUAL}.patch_embed.proj.bias`, [h]),
    storage,
  );

  // Bilinear resampling of the learned table: Σ_corner table[index] · weight.
  const table = addFloatWeight(
    g,
    `${VISUAL}.pos_embed.weight`,
    await read(`${VISUAL}.pos_embed.weight`, [v.numPositionEmbeddings, h]),
    [v.numPositionEmbeddings, h],
    storage,
  );
  const corners = g.node("Gather", [table, posIndices], { axis: attr.int(0) });
  const weighted = g.node("Mul", [corners, g.node("Unsqueeze", [posWeights, g.int64([2])])]);
  x = g.node("Add", [x, g.node("ReduceSum", [weighted, g.int64([1])], { keepdims: attr.int(0) })]);

  // 2-D rotary: angle = [row·inv_freq, col·inv_freq], as one MatMul of (row, col) with a [2, hd/2] table.
  const rotaryDim = hd / 2;
  const freqs = rotaryDim / 2;
  const table2d = new Float32Array(2 * rotaryDim);
  for (let j = 0; j < freqs; j++) {
    const invFreq = 1 / Math.fround(10000 ** Math.fround((2 * j) / rotaryDim));
    table2d[j] = invFreq;
    table2d[rotaryDim + freqs + j] = invFreq;
  }
  const angles = g.node("MatMul", [
    g.node("Cast", [rotaryPositions], { to: attr.int(1) }),
    g.float32(table2d, [2, rotaryDim]),
  ]);
  const attend =
    options.attention === "plain"
      ? plainAttention(g, angles, heads, hd, options.mutation)
      : fusedAttention(g, angles, heads, hd, options.mutation);

  const taps = new Map<number, string>();
  for (let i = 0; i < v.depth; i++) {
    const p = `${VISUAL}.blocks.${i}`;
    const normed = await layerNorm(x, `${p}.norm1`, h);
    const merged = attend(await linear(normed, `${p}.attn.qkv`, 3 * h, h));
    x = g.node("Add", [x, await linear(merged, `${p}.attn.proj`, h, h)]);
    const normed2 = await layerNorm(x, `${p}.norm2`, h);
    const hidden = gelu(await linear(normed2, `${p}.mlp.linear_fc1`, v.intermediateSize, h), vitGelu);
    x = g.node("Add", [x, await linear(hidden, `${p}.mlp.linear_fc2`, h, v.intermediateSize)]);
    if (v.deepstackVisualIndexes.includes(i)) taps.set(i, x);
  }

  const mergerHead = async (input: string, prefix: string) => {
    const hidden = gelu(await linear(input, `${prefix}.linear_fc1`, mergedDim, mergedDim), "erf");
    return linear(hidden, `${prefix}.linear_fc2`, v.outHiddenSize, mergedDim);
  };
  const toBlocks = (t: string) => g.node("Reshape", [t, g.int64([-1, mergedDim])]);
  // Main merger: norm each patch, then concat 2×2; DeepStack mergers: concat, then norm (spec §3.5, §3.6).
  const main = await mergerHead(toBlocks(await layerNorm(x, `${VISUAL}.merger.norm`, h)), `${VISUAL}.merger`);
  const tokens = `N/${merge * merge}`;
  g.output(VISION_OUTPUTS.imageFeatures, "float32", [tokens, v.outHiddenSize], main);
  const outputs: TensorSpec[] = [
    { name: VISION_OUTPUTS.imageFeatures, dtype: "float32", shape: [tokens, v.outHiddenSize] },
  ];
  for (let j = 0; j < v.deepstackVisualIndexes.length; j++) {
    const prefix = `${VISUAL}.deepstack_merger_list.${j}`;
    const tap = taps.get(v.deepstackVisualIndexes[j]!)!;
    const features = await mergerHead(await layerNorm(toBlocks(tap), `${prefix}.norm`, mergedDim), prefix);
    g.output(deepstackFeaturesName(j), "float32", [tokens, v.outHiddenSize], features);
    outputs.push({ name: deepstackFeaturesName(j), dtype: "float32", shape: [tokens, v.outHiddenSize] });
  }
  const bytes = g.finish({
    squint_graph: "vision",
    ...(options.mutation ? { squint_mutation: options.mutation } : {}),
  });
  await writeFile(join(outDir, GRAPH_FILES.vision), bytes);
  return {
    file: GRAPH_FILES.vision,
    externalData: dataFile,
    inputs: [
      { name: VISION_INPUTS.pixelValues, dtype: "float32", shape: ["N", patchDim] },
      { name: VISION_INPUTS.posEmbedIndices, dtype: "int64", shape: ["N", 4] },
      { name: VISION_INPUTS.posEmbedWeights, dtype: "float32", shape: ["N", 4] },
      { name: VISION_INPUTS.rotaryPositions, dtype: "int64", shape: ["N", 2] },
    ],
    outputs,
  };
}

/** Self-attention of one segment over a block's fused qkv [N, 3h]: the context [N, h] (before attn.proj). */
type Attend = (qkv: string) => string;

/**
 * com.microsoft RotaryEmbedding on q and k, then MultiHeadAttention. The 2-D rotary is a 1-D rotary whose
 * cos/sin cache has one row per patch (its own row·inv_freq, col·inv_freq angles) read at positions 0..N−1
 * (position_ids given as the offset 0). MultiHeadAttention's CPU kernel tiles the softmax (flash attention),
 * where the plain form writes and re-reads [heads, N, N] scores: 1 GiB per block for a 1 MP image.
 */
function fusedAttention(
  g: GraphBuilder,
  angles: string,
  heads: number,
  hd: number,
  mutation: GraphMutation | undefined,
): Attend {
  const h = heads * hd;
  const cosCache = g.node("Cos", [angles]);
  const sinCache = g.node("Sin", [angles]);
  const firstPosition = g.int64([0]);
  const rotate = (t: string) =>
    mutation === "vision-rotary-dropped"
      ? t
      : g.node(
          "RotaryEmbedding",
          [t, firstPosition, cosCache, sinCache],
          { interleaved: attr.int(0) },
          { domain: "com.microsoft" },
        );
  return (qkv) => {
    // [N, 3h] → [1, N, 3h]: the contrib ops take a batch axis; q, k, v are column blocks of h.
    const batched = g.node("Unsqueeze", [qkv, g.int64([0])]);
    const [q, k, v] = g.nodeMulti("Split", [batched, g.int64([h, h, h])], { axis: attr.int(-1) }, { outputs: 3 });
    const context = g.node(
      "MultiHeadAttention",
      [rotate(q!), rotate(k!), v!],
      { num_heads: attr.int(heads), scale: attr.float(hd ** -0.5) },
      { domain: "com.microsoft" },
    );
    return g.node("Reshape", [context, g.int64([-1, h])]);
  };
}

/** Rotary (rotate-half) and softmax attention from standard ops: the form before the fused one. */
function plainAttention(
  g: GraphBuilder,
  angles: string,
  heads: number,
  hd: number,
  mutation: GraphMutation | undefined,
): Attend {
  const h = heads * hd;
  const emb = g.node("Concat", [angles, angles], { axis: attr.int(-1) });
  const cos = g.node("Unsqueeze", [g.node("Cos", [emb]), g.int64([0, 1])]);
  const sin = g.node("Unsqueeze", [g.node("Sin", [emb]), g.int64([0, 1])]);
  const rotate = (t: string) => {
    if (mutation === "vision-rotary-dropped") return t;
    const [a, b] = g.nodeMulti("Split", [t, g.int64([hd / 2, hd / 2])], { axis: attr.int(-1) }, { outputs: 2 });
    const rotated = g.node("Concat", [g.node("Neg", [b!]), a!], { axis: attr.int(-1) });
    return g.node("Add", [g.node("Mul", [t, cos]), g.node("Mul", [rotated, sin])]);
  };
  const scale = g.float32([hd ** -0.5], []);
  return (qkv) => {
    // [N, 3h] → [N, 3, heads, hd] → [3, heads, N, hd]
    const split = g.node("Transpose", [g.node("Reshape", [qkv, g.int64([-1, 3, heads, hd])])], {
      perm: attr.ints([1, 2, 0, 3]),
    });
    const [q, k, val] = g.nodeMulti("Split", [split, g.int64([1, 1, 1])], { axis: attr.int(0) }, { outputs: 3 });
    const scores = g.node("MatMul", [
      g.node("Mul", [rotate(q!), scale]),
      g.node("Transpose", [rotate(k!)], { perm: attr.ints([0, 1, 3, 2]) }),
    ]);
    const probs = g.node("Softmax", [scores], { axis: attr.int(-1) });
    const context = g.node("MatMul", [probs, val!]);
    return g.node("Reshape", [g.node("Transpose", [context], { perm: attr.ints([0, 2, 1, 3]) }), g.int64([-1, h])]);
  };
}
