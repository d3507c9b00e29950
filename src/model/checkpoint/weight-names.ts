import type { ModelConfig } from "../config.js";

/**
 * The Hugging Face Qwen3-VL weight names and the shapes config.json implies (spec §1.2 module names, with
 * the `model.visual.*` / `model.language_model.*` / `lm_head.*` prefixes real checkpoints use). The tiny
 * generator writes exactly these; the graph builder reads exactly these.
 */

export const VISUAL = "model.visual";
export const TEXT = "model.language_model";

export interface WeightSpec {
  name: string;
  shape: number[];
  /** How random weights are initialised: norm scales around 1, everything else around 0. */
  init: "weight" | "bias" | "norm";
}

export function visionWeightSpecs(config: ModelConfig): WeightSpec[] {
  const v = config.vision;
  const h = v.hiddenSize;
  const merged = h * v.spatialMergeSize * v.spatialMergeSize;
  const specs: WeightSpec[] = [
    {
      name: `${VISUAL}.patch_embed.proj.weight`,
      shape: [h, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize],
      init: "weight",
    },
    { name: `${VISUAL}.patch_embed.proj.bias`, shape: [h], init: "bias" },
    { name: `${VISUAL}.pos_embed.weight`, shape: [v.numPositionEmbeddings, h], init: "weight" },
  ];
  for (let i = 0; i < v.depth; i++) {
    const p = `${VISUAL}.blocks.${i}`;
    specs.push(
      { name: `${p}.norm1.weight`, shape: [h], init: "norm" },
      { name: `${p}.norm1.bias`, shape: [h], init: "bias" },
      { name: `${p}.attn.qkv.weight`, shape: [3 * h, h], init: "weight" },
      { name: `${p}.attn.qkv.bias`, shape: [3 * h], init: "bias" },
      { name: `${p}.attn.proj.weight`, shape: [h, h], init: "weight" },
      { name: `${p}.attn.proj.bias`, shape: [h], init: "bias" },
      { name: `${p}.norm2.weight`, shape: [h], init: "norm" },
      { name: `${p}.norm2.bias`, shape: [h], init: "bias" },
      { name: `${p}.mlp.linear_fc1.weight`, shape: [v.intermediateSize, h], init: "weight" },
      { name: `${p}.mlp.linear_fc1.bias`, shape: [v.intermediateSize], init: "bias" },
      { name: `${p}.mlp.linear_fc2.weight`, shape: [h, v.intermediateSize], init: "weight" },
      { name: `${p}.mlp.linear_fc2.bias`, shape: [h], init: "bias" },
    );
  }
  const mergerSpecs = (p: string, normSize: number): WeightSpec[] => [
    { name: `${p}.norm.weight`, shape: [normSize], init: "norm" },
    { name: `${p}.norm.bias`, shape: [normSize], init: "bias" },
    { name: `${p}.linear_fc1.weight`, shape: [merged, merged], init: "weight" },
    { name: `${p}.linear_fc1.bias`, shape: [merged], init: "bias" },
    { name: `${p}.linear_fc2.weight`, shape: [v.outHiddenSize, merged], init: "weight" },
    { name: `${p}.linear_fc2.bias`, shape: [v.outHiddenSize], init: "bias" },
  ];
  // The main merger normalises each patch before the 2×2 concat; DeepStack mergers after it (spec §3.5, §3.6).
  specs.push(...mergerSpecs(`${VISUAL}.merger`, h));
  v.deepstackVisualIndexes.forEach((_, j) => {
    specs.push(...mergerSpecs(`${VISUAL}.deepstack_merger_list.${j}`, merged));
  });
  return specs;
}

export function textWeightSpecs(config: ModelConfig): WeightSpec[] {
  const t = config.text;
  const h = t.hiddenSize;
  const q = t.numHeads * t.headDim;
  const kv = t.numKeyValueHeads * t.headDim;
  const specs: WeightSpec[] = [{ name: `${TEXT}.embed_tokens.weight`, shape: [t.vocabSize, h], init: "weight" }];
  for (let i = 0; i < t.numLayers; i++) {
    const p = `${TEXT}.layers.${i}`;
    specs.push(
      { name: `${p}.input_layernorm.weight`, shape: [h], init: "norm" },
      { name: `${p}.self_attn.q_proj.weight`, shape: [q, h], init: "weight" },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, h], init: "weight" },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, h], init: "weight" },
      { name: `${p}.self_attn.o_proj.weight`, shape: [h, q], init: "weight" },
      { name: `${p}.self_attn.q_norm.weight`, shape: [t.headDim], init: "norm" },
      { name: `${p}.self_attn.k_norm.weight`, shape: [t.headDim], init: "norm" },
      { name: `${p}.post_attention_layernorm.weight`, shape: [h], init: "norm" },
      { name: `${p}.mlp.gate_proj.weight`, shape: [t.intermediateSize, h], init: "weight" },
      { name: `${p}.mlp.up_proj.weight`, shape: [t.intermediateSize, h], init: "weight" },
      { name: `${p}.mlp.down_proj.weight`, shape: [h, t.intermediateSize], init: "weight" },
    );
    if (t.attentionBias) {
      specs.push(
        { name: `${p}.self_attn.q_proj.bias`, shape: [q], init: "bias" },
        { name: `${p}.self_attn.k_proj.bias`, shape: [kv], init: "bias" },
        { name: `${p}.self_attn.v_proj.bias`, shape: [kv], init: "bias" },
        { name: `${p}.self_attn.o_proj.bias`, shape: [h], init: "bias" },
      );
    }
  }
  specs.push({ name: `${TEXT}.norm.weight`, shape: [h], init: "norm" });
  if (!config.tieWordEmbeddings) specs.push({ name: "lm_head.weight", shape: [t.vocabSize, h], init: "weight" });
  return specs;
}

export function allWeightSpecs(config: ModelConfig): WeightSpec[] {
  return [...visionWeightSpecs(config), ...textWeightSpecs(config)];
}
