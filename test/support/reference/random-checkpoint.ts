import { parseModelConfig } from "../../../src/model/config.js";
import type { Float64Tensor } from "./safetensors.js";
import type { ReferenceCheckpoint } from "./weights.js";

/**
 * In-memory random checkpoints for the reference's own tests, independent of the builder's generator.
 * Weights are N(0, std²) from a seeded generator; norm scales are 1 + N(0, std²) so they stay near one.
 */

/** A tiny Qwen3-VL config.json (plain JSON, as a checkpoint ships it) with ids remapped into a small vocab. */
export function tinyConfigJson(
  overrides: { tie?: boolean; text?: Record<string, unknown>; vision?: Record<string, unknown> } = {},
) {
  return {
    model_type: "qwen3_vl",
    image_token_id: 250,
    video_token_id: 251,
    vision_start_token_id: 252,
    vision_end_token_id: 253,
    text_config: {
      hidden_size: 64,
      num_hidden_layers: 3,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 32,
      intermediate_size: 96,
      vocab_size: 256,
      rope_theta: 5_000_000,
      rope_scaling: { rope_type: "default", mrope_section: [6, 5, 5], mrope_interleaved: true },
      rms_norm_eps: 1e-6,
      tie_word_embeddings: overrides.tie ?? true,
      ...overrides.text,
    },
    vision_config: {
      depth: 4,
      hidden_size: 32,
      num_heads: 2,
      intermediate_size: 64,
      patch_size: 16,
      temporal_patch_size: 2,
      spatial_merge_size: 2,
      in_channels: 3,
      out_hidden_size: 64,
      deepstack_visual_indexes: [1, 2, 3],
      num_position_embeddings: 64,
      ...overrides.vision,
    },
    tie_word_embeddings: overrides.tie ?? true,
  };
}

/** mulberry32 + Box–Muller: reproducible normal draws without a dependency. */
export function seededNormal(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Every tensor name and shape a Qwen3-VL checkpoint with this config holds. */
export function checkpointShapes(configJson: unknown): Map<string, number[]> {
  const c = parseModelConfig(configJson);
  const t = c.text;
  const v = c.vision;
  const shapes = new Map<string, number[]>();
  const d = v.hiddenSize;
  const wide = d * v.spatialMergeSize ** 2;
  shapes.set("model.visual.patch_embed.proj.weight", [d, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize]);
  shapes.set("model.visual.patch_embed.proj.bias", [d]);
  shapes.set("model.visual.pos_embed.weight", [v.numPositionEmbeddings, d]);
  for (let b = 0; b < v.depth; b++) {
    const p = `model.visual.blocks.${b}`;
    for (const n of ["norm1", "norm2"]) {
      shapes.set(`${p}.${n}.weight`, [d]);
      shapes.set(`${p}.${n}.bias`, [d]);
    }
    shapes.set(`${p}.attn.qkv.weight`, [3 * d, d]);
    shapes.set(`${p}.attn.qkv.bias`, [3 * d]);
    shapes.set(`${p}.attn.proj.weight`, [d, d]);
    shapes.set(`${p}.attn.proj.bias`, [d]);
    shapes.set(`${p}.mlp.linear_fc1.weight`, [v.intermediateSize, d]);
    shapes.set(`${p}.mlp.linear_fc1.bias`, [v.intermediateSize]);
    shapes.set(`${p}.mlp.linear_fc2.weight`, [d, v.intermediateSize]);
    shapes.set(`${p}.mlp.linear_fc2.bias`, [d]);
  }
  const mergers = [
    "model.visual.merger",
    ...v.deepstackVisualIndexes.map((_, j) => `model.visual.deepstack_merger_list.${j}`),
  ];
  mergers.forEach((p, k) => {
    const normDim = k === 0 ? d : wide;
    shapes.set(`${p}.norm.weight`, [normDim]);
    shapes.set(`${p}.norm.bias`, [normDim]);
    shapes.set(`${p}.linear_fc1.weight`, [wide, wide]);
    shapes.set(`${p}.linear_fc1.bias`, [wide]);
    shapes.set(`${p}.linear_fc2.weight`, [v.outHiddenSize, wide]);
    shapes.set(`${p}.linear_fc2.bias`, [v.outHiddenSize]);
  });
  const H = t.hiddenSize;
  shapes.set("model.language_model.embed_tokens.weight", [t.vocabSize, H]);
  for (let l = 0; l < t.numLayers; l++) {
    const p = `model.language_model.layers.${l}`;
    shapes.set(`${p}.input_layernorm.weight`, [H]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [H]);
    shapes.set(`${p}.self_attn.q_proj.weight`, [t.numHeads * t.headDim, H]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [t.numKeyValueHeads * t.headDim, H]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [t.numKeyValueHeads * t.headDim, H]);
    shapes.set(`${p}.self_attn.o_proj.weight`, [H, t.numHeads * t.headDim]);
    shapes.set(`${p}.self_attn.q_norm.weight`, [t.headDim]);
    shapes.set(`${p}.self_attn.k_norm.weight`, [t.headDim]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [t.intermediateSize, H]);
    shapes.set(`${p}.mlp.up_proj.weight`, [t.intermediateSize, H]);
    shapes.set(`${p}.mlp.down_proj.weight`, [H, t.intermediateSize]);
  }
  shapes.set("model.language_model.norm.weight", [H]);
  if (!c.tieWordEmbeddings) shapes.set("lm_head.weight", [t.vocabSize, H]);
  return shapes;
}

/** True for 1-D norm scales (LayerNorm/RMSNorm weights), which are drawn around one, not zero. */
function isNormScale(name: string): boolean {
  return /(norm\d?|layernorm|q_norm|k_norm)\.weight$/.test(name);
}

export function randomCheckpoint(configJson: unknown, seed = 1, std = 0.1): ReferenceCheckpoint {
  const normal = seededNormal(seed);
  const tensors = new Map<string, Float64Tensor>();
  for (const [name, shape] of checkpointShapes(configJson)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(count);
    const base = isNormScale(name) ? 1 : 0;
    for (let i = 0; i < count; i++) data[i] = base + std * normal();
    tensors.set(name, { shape, data });
  }
  return { config: parseModelConfig(configJson), tensors };
}
