import { z } from "zod";
import { SquintError, zodError } from "../errors.js";

/**
 * Qwen3-VL checkpoint configuration: the zod schemas for the three JSON files a Hugging Face checkpoint
 * ships (config.json, preprocessor_config.json, generation_config.json), and their normalised form.
 * Key names are the checkpoint's own; both the transformers 4.57 `rope_scaling` and the 5.x
 * `rope_parameters` spellings are read (spec §1, §13.2).
 */

const positiveInt = z.number().int().positive();

const ropeSchema = z
  .object({
    rope_type: z.string().optional(),
    type: z.string().optional(),
    rope_theta: z.number().positive().optional(),
    mrope_section: z.tuple([
      z.number().int().nonnegative(),
      z.number().int().nonnegative(),
      z.number().int().nonnegative(),
    ]),
    mrope_interleaved: z.boolean().optional(),
  })
  .loose();

export const textConfigSchema = z
  .object({
    model_type: z.string().optional(),
    hidden_size: positiveInt,
    num_hidden_layers: positiveInt,
    num_attention_heads: positiveInt,
    num_key_value_heads: positiveInt,
    head_dim: positiveInt.optional(),
    intermediate_size: positiveInt,
    vocab_size: positiveInt,
    rope_theta: z.number().positive().optional(),
    rope_scaling: ropeSchema.nullish(),
    rope_parameters: ropeSchema.nullish(),
    max_position_embeddings: positiveInt.default(262144),
    rms_norm_eps: z.number().positive().default(1e-6),
    hidden_act: z.literal("silu").default("silu"),
    attention_bias: z.boolean().default(false),
    tie_word_embeddings: z.boolean().optional(),
    bos_token_id: z.number().int().nullish(),
    eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
  })
  .loose();

export const visionConfigSchema = z
  .object({
    model_type: z.string().optional(),
    depth: positiveInt,
    hidden_size: positiveInt,
    num_heads: positiveInt,
    intermediate_size: positiveInt,
    hidden_act: z.string().default("gelu_pytorch_tanh"),
    patch_size: positiveInt.default(16),
    temporal_patch_size: positiveInt.default(2),
    spatial_merge_size: positiveInt.default(2),
    in_channels: positiveInt.default(3),
    out_hidden_size: positiveInt,
    deepstack_visual_indexes: z.array(z.number().int().nonnegative()),
    num_position_embeddings: positiveInt.default(2304),
  })
  .loose();

export const modelConfigSchema = z
  .object({
    model_type: z.string(),
    architectures: z.array(z.string()).optional(),
    text_config: textConfigSchema,
    vision_config: visionConfigSchema,
    image_token_id: z.number().int().default(151655),
    video_token_id: z.number().int().default(151656),
    vision_start_token_id: z.number().int().default(151652),
    vision_end_token_id: z.number().int().default(151653),
    tie_word_embeddings: z.boolean().optional(),
  })
  .loose();

export type RawModelConfig = z.infer<typeof modelConfigSchema>;

export interface TextConfig {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  ropeTheta: number;
  /** Frequency slots per axis (T, H, W); interleaved as spec §13.1 describes. */
  mropeSection: [number, number, number];
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  attentionBias: boolean;
  bosTokenId: number | undefined;
  eosTokenIds: number[];
}

export interface VisionConfig {
  depth: number;
  hiddenSize: number;
  numHeads: number;
  headDim: number;
  intermediateSize: number;
  hiddenAct: string;
  patchSize: number;
  temporalPatchSize: number;
  spatialMergeSize: number;
  inChannels: number;
  outHiddenSize: number;
  deepstackVisualIndexes: number[];
  numPositionEmbeddings: number;
}

export interface ModelConfig {
  text: TextConfig;
  vision: VisionConfig;
  imageTokenId: number;
  videoTokenId: number;
  visionStartTokenId: number;
  visionEndTokenId: number;
  tieWordEmbeddings: boolean;
  raw: RawModelConfig;
}

const QWEN3_VL_MODEL_TYPES = new Set(["qwen3_vl"]);

function invalid(file: string, error: z.ZodError): SquintError {
  return zodError(error, file, {
    code: "INVALID_CONFIG",
    hint: `Check ${file} against the checkpoint's original; Squint reads Qwen3-VL dense checkpoints.`,
  });
}

/** Parses config.json and normalises it. Throws NOT_QWEN3_VL for another architecture. */
export function parseModelConfig(json: unknown): ModelConfig {
  if (typeof json === "object" && json !== null && "model_type" in json) {
    const modelType = (json as { model_type: unknown }).model_type;
    if (typeof modelType === "string" && !QWEN3_VL_MODEL_TYPES.has(modelType)) {
      throw new SquintError("NOT_QWEN3_VL", `config.json: field "model_type" is "${modelType}", not "qwen3_vl"`, {
        hint: "Point Squint at a Qwen3-VL checkpoint (for example Qwen/Qwen3-VL-2B-Thinking).",
        details: { model_type: modelType },
      });
    }
  }
  const parsed = modelConfigSchema.safeParse(json);
  if (!parsed.success) throw invalid("config.json", parsed.error);
  const raw = parsed.data;
  if (!QWEN3_VL_MODEL_TYPES.has(raw.model_type)) {
    throw new SquintError("NOT_QWEN3_VL", `config.json: field "model_type" is "${raw.model_type}", not "qwen3_vl"`, {
      hint: "Point Squint at a Qwen3-VL checkpoint (for example Qwen/Qwen3-VL-2B-Thinking).",
    });
  }
  const t = raw.text_config;
  const v = raw.vision_config;
  const rope = t.rope_parameters ?? t.rope_scaling;
  if (!rope) {
    throw new SquintError(
      "INVALID_CONFIG",
      'config.json: field "text_config.rope_scaling" (or "rope_parameters") is missing',
      {
        hint: "Qwen3-VL needs mrope_section in its rope settings; the checkpoint's config.json looks incomplete.",
      },
    );
  }
  const headDim = t.head_dim ?? t.hidden_size / t.num_attention_heads;
  const [sT, sH, sW] = rope.mrope_section;
  if (sT + sH + sW !== headDim / 2) {
    throw new SquintError(
      "INVALID_CONFIG",
      `config.json: field "text_config.rope_scaling.mrope_section" sums to ${sT + sH + sW}, expected head_dim/2 = ${headDim / 2}`,
      { hint: "The three sections must cover every rotary frequency slot." },
    );
  }
  if (t.num_attention_heads % t.num_key_value_heads !== 0) {
    throw new SquintError(
      "INVALID_CONFIG",
      `config.json: field "text_config.num_key_value_heads" (${t.num_key_value_heads}) must divide num_attention_heads (${t.num_attention_heads})`,
    );
  }
  if (v.hidden_size % v.num_heads !== 0) {
    throw new SquintError(
      "INVALID_CONFIG",
      `config.json: field "vision_config.num_heads" (${v.num_heads}) must divide hidden_size (${v.hidden_size})`,
    );
  }
  for (const index of v.deepstack_visual_indexes) {
    if (index >= v.depth) {
      throw new SquintError(
        "INVALID_CONFIG",
        `config.json: field "vision_config.deepstack_visual_indexes" names block ${index}, but depth is ${v.depth}`,
      );
    }
  }
  if (v.deepstack_visual_indexes.length > t.num_hidden_layers) {
    throw new SquintError(
      "INVALID_CONFIG",
      'config.json: field "vision_config.deepstack_visual_indexes" has more taps than decoder layers',
    );
  }
  const ropeTheta = rope.rope_theta ?? t.rope_theta ?? 5_000_000;
  const eos = t.eos_token_id;
  // transformers 4.57 ties from text_config; the top-level flag is the fallback (spec §13.3).
  const tieWordEmbeddings = t.tie_word_embeddings ?? raw.tie_word_embeddings ?? false;
  return {
    text: {
      hiddenSize: t.hidden_size,
      numLayers: t.num_hidden_layers,
      numHeads: t.num_attention_heads,
      numKeyValueHeads: t.num_key_value_heads,
      headDim,
      intermediateSize: t.intermediate_size,
      vocabSize: t.vocab_size,
      ropeTheta,
      mropeSection: [sT, sH, sW],
      maxPositionEmbeddings: t.max_position_embeddings,
      rmsNormEps: t.rms_norm_eps,
      attentionBias: t.attention_bias,
      bosTokenId: t.bos_token_id ?? undefined,
      eosTokenIds: eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos],
    },
    vision: {
      depth: v.depth,
      hiddenSize: v.hidden_size,
      numHeads: v.num_heads,
      headDim: v.hidden_size / v.num_heads,
      intermediateSize: v.intermediate_size,
      hiddenAct: v.hidden_act,
      patchSize: v.patch_size,
      temporalPatchSize: v.temporal_patch_size,
      spatialMergeSize: v.spatial_merge_size,
      inChannels: v.in_channels,
      outHiddenSize: v.out_hidden_size,
      deepstackVisualIndexes: v.deepstack_visual_indexes,
      numPositionEmbeddings: v.num_position_embeddings,
    },
    imageTokenId: raw.image_token_id,
    videoTokenId: raw.video_token_id,
    visionStartTokenId: raw.vision_start_token_id,
    visionEndTokenId: raw.vision_end_token_id,
    tieWordEmbeddings,
    raw,
  };
}

export const preprocessorConfigSchema = z
  .object({
    patch_size: positiveInt.default(16),
    temporal_patch_size: positiveInt.default(2),
    merge_size: positiveInt.default(2),
    image_mean: z.array(z.number()).length(3).default([0.5, 0.5, 0.5]),
    image_std: z.array(z.number()).length(3).default([0.5, 0.5, 0.5]),
    rescale_factor: z
      .number()
      .positive()
      .default(1 / 255),
    resample: z.number().int().default(3),
    do_convert_rgb: z.boolean().default(true),
    size: z
      .object({ shortest_edge: positiveInt, longest_edge: positiveInt })
      .default({ shortest_edge: 65536, longest_edge: 16777216 }),
    min_pixels: positiveInt.nullish(),
    max_pixels: positiveInt.nullish(),
  })
  .loose();

export interface PreprocessorConfig {
  patchSize: number;
  temporalPatchSize: number;
  mergeSize: number;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  rescaleFactor: number;
  /** `size.shortest_edge`: the least number of pixels (H·W), not an edge length (spec §2.1). */
  minPixels: number;
  /** `size.longest_edge`: the most number of pixels (H·W). */
  maxPixels: number;
}

/** The HF processor defaults for Qwen3-VL (spec §2.1). */
export const DEFAULT_PREPROCESSOR_CONFIG: PreprocessorConfig = {
  patchSize: 16,
  temporalPatchSize: 2,
  mergeSize: 2,
  imageMean: [0.5, 0.5, 0.5],
  imageStd: [0.5, 0.5, 0.5],
  rescaleFactor: 1 / 255,
  minPixels: 65536,
  maxPixels: 16777216,
};

export function parsePreprocessorConfig(json: unknown): PreprocessorConfig {
  const parsed = preprocessorConfigSchema.safeParse(json);
  if (!parsed.success) throw invalid("preprocessor_config.json", parsed.error);
  const p = parsed.data;
  return {
    patchSize: p.patch_size,
    temporalPatchSize: p.temporal_patch_size,
    mergeSize: p.merge_size,
    imageMean: [p.image_mean[0], p.image_mean[1], p.image_mean[2]],
    imageStd: [p.image_std[0], p.image_std[1], p.image_std[2]],
    rescaleFactor: p.rescale_factor,
    minPixels: p.min_pixels ?? p.size.shortest_edge,
    maxPixels: p.max_pixels ?? p.size.longest_edge,
  };
}

export const generationConfigSchema = z
  .object({
    bos_token_id: z.number().int().nullish(),
    eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
    pad_token_id: z.number().int().nullish(),
    do_sample: z.boolean().nullish(),
    temperature: z.number().nonnegative().nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    top_k: z.number().int().nonnegative().nullish(),
    repetition_penalty: z.number().positive().nullish(),
    max_new_tokens: positiveInt.nullish(),
  })
  .loose();

export interface GenerationConfig {
  eosTokenIds: number[];
  padTokenId: number | undefined;
  doSample: boolean | undefined;
  temperature: number | undefined;
  topP: number | undefined;
  topK: number | undefined;
  repetitionPenalty: number | undefined;
}

export function parseGenerationConfig(json: unknown): GenerationConfig {
  const parsed = generationConfigSchema.safeParse(json);
  if (!parsed.success) throw invalid("generation_config.json", parsed.error);
  const g = parsed.data;
  const eos = g.eos_token_id;
  return {
    eosTokenIds: eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos],
    padTokenId: g.pad_token_id ?? undefined,
    doSample: g.do_sample ?? undefined,
    temperature: g.temperature ?? undefined,
    topP: g.top_p ?? undefined,
    topK: g.top_k ?? undefined,
    repetitionPenalty: g.repetition_penalty ?? undefined,
  };
}
