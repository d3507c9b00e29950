import { describe, expect, it } from "vitest";
import { SquintError } from "../../src/errors.js";
import {
  DEFAULT_PREPROCESSOR_CONFIG,
  parseGenerationConfig,
  parseModelConfig,
  parsePreprocessorConfig,
} from "../../src/model/config.js";

/** Qwen3-VL-2B's config.json as transformers 4.57 writes it (values from spec §1.1–1.3). */
function config2B(): Record<string, unknown> {
  return {
    architectures: ["Qwen3VLForConditionalGeneration"],
    model_type: "qwen3_vl",
    image_token_id: 151655,
    video_token_id: 151656,
    vision_start_token_id: 151652,
    vision_end_token_id: 151653,
    tie_word_embeddings: true,
    text_config: {
      model_type: "qwen3_vl_text",
      hidden_size: 2048,
      num_hidden_layers: 28,
      num_attention_heads: 16,
      num_key_value_heads: 8,
      head_dim: 128,
      intermediate_size: 6144,
      vocab_size: 151936,
      rope_theta: 5000000,
      rope_scaling: { rope_type: "default", mrope_section: [24, 20, 20], mrope_interleaved: true },
      max_position_embeddings: 262144,
      rms_norm_eps: 1e-6,
      hidden_act: "silu",
      attention_bias: false,
      tie_word_embeddings: true,
      bos_token_id: 151643,
      eos_token_id: 151645,
    },
    vision_config: {
      model_type: "qwen3_vl",
      depth: 24,
      hidden_size: 1024,
      num_heads: 16,
      intermediate_size: 4096,
      hidden_act: "gelu_pytorch_tanh",
      patch_size: 16,
      temporal_patch_size: 2,
      spatial_merge_size: 2,
      in_channels: 3,
      out_hidden_size: 2048,
      deepstack_visual_indexes: [5, 11, 17],
      num_position_embeddings: 2304,
    },
  };
}

function thrown(fn: () => unknown): SquintError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SquintError);
    return error as SquintError;
  }
  throw new Error("expected a SquintError");
}

describe("parseModelConfig", () => {
  it("normalises the 2B config (transformers 4.57 keys)", () => {
    const config = parseModelConfig(config2B());
    expect(config.text).toMatchObject({
      hiddenSize: 2048,
      numLayers: 28,
      numHeads: 16,
      numKeyValueHeads: 8,
      headDim: 128,
      ropeTheta: 5_000_000,
      mropeSection: [24, 20, 20],
      eosTokenIds: [151645],
    });
    expect(config.vision).toMatchObject({
      depth: 24,
      headDim: 64,
      deepstackVisualIndexes: [5, 11, 17],
      outHiddenSize: 2048,
    });
    expect(config.tieWordEmbeddings).toBe(true);
    expect(config.imageTokenId).toBe(151655);
  });

  it("reads the transformers 5.x rope_parameters spelling, theta inside it", () => {
    const raw = config2B();
    const text = raw.text_config as Record<string, unknown>;
    delete text.rope_scaling;
    delete text.rope_theta;
    text.rope_parameters = {
      rope_type: "default",
      rope_theta: 5000000,
      mrope_section: [24, 20, 20],
      mrope_interleaved: true,
    };
    const config = parseModelConfig(raw);
    expect(config.text.ropeTheta).toBe(5_000_000);
    expect(config.text.mropeSection).toEqual([24, 20, 20]);
  });

  it("ties embeddings from text_config, the top-level flag only as a fallback (spec §13.3)", () => {
    const raw = config2B();
    (raw.text_config as Record<string, unknown>).tie_word_embeddings = false;
    expect(parseModelConfig(raw).tieWordEmbeddings).toBe(false);
    delete (raw.text_config as Record<string, unknown>).tie_word_embeddings;
    expect(parseModelConfig(raw).tieWordEmbeddings).toBe(true);
  });

  it("refuses another architecture, naming model_type", () => {
    const error = thrown(() => parseModelConfig({ ...config2B(), model_type: "qwen2_5_vl" }));
    expect(error.code).toBe("NOT_QWEN3_VL");
    expect(error.message).toContain('"model_type"');
    expect(error.message).toContain("qwen2_5_vl");
    expect(error.hint).toBeTruthy();
  });

  it("names the missing or wrong field", () => {
    const raw = config2B();
    delete (raw.vision_config as Record<string, unknown>).deepstack_visual_indexes;
    const missing = thrown(() => parseModelConfig(raw));
    expect(missing.code).toBe("INVALID_CONFIG");
    expect(missing.message).toContain("vision_config.deepstack_visual_indexes");

    const wrong = config2B();
    (wrong.text_config as Record<string, unknown>).hidden_size = "2048";
    expect(thrown(() => parseModelConfig(wrong)).message).toContain("text_config.hidden_size");

    const noRope = config2B();
    delete (noRope.text_config as Record<string, unknown>).rope_scaling;
    expect(thrown(() => parseModelConfig(noRope)).message).toContain("rope_scaling");
  });

  it("checks what the shapes imply: sections cover head_dim/2, KV heads divide heads, taps exist", () => {
    const sections = config2B();
    ((sections.text_config as Record<string, unknown>).rope_scaling as Record<string, unknown>).mrope_section = [
      24, 20, 21,
    ];
    expect(thrown(() => parseModelConfig(sections)).message).toContain("mrope_section");
    expect(parseModelConfig(config2B()).text.mropeSection).toEqual([24, 20, 20]);

    const heads = config2B();
    (heads.text_config as Record<string, unknown>).num_key_value_heads = 3;
    expect(thrown(() => parseModelConfig(heads)).message).toContain("num_key_value_heads");

    const taps = config2B();
    (taps.vision_config as Record<string, unknown>).deepstack_visual_indexes = [5, 11, 24];
    expect(thrown(() => parseModelConfig(taps)).message).toContain("deepstack_visual_indexes");
  });

  it("refuses non-objects with a coded error", () => {
    expect(thrown(() => parseModelConfig(null)).code).toBe("INVALID_CONFIG");
    expect(thrown(() => parseModelConfig("qwen3_vl")).code).toBe("INVALID_CONFIG");
  });
});

describe("parsePreprocessorConfig", () => {
  it("reads size as a pixel budget (shortest_edge = min pixels, longest_edge = max pixels)", () => {
    const config = parsePreprocessorConfig({
      size: { shortest_edge: 65536, longest_edge: 16777216 },
      patch_size: 16,
      temporal_patch_size: 2,
      merge_size: 2,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
    });
    expect(config).toEqual(DEFAULT_PREPROCESSOR_CONFIG);
  });

  it("lets explicit min_pixels / max_pixels win and names a bad field", () => {
    expect(parsePreprocessorConfig({ min_pixels: 4096, max_pixels: 1003520 })).toMatchObject({
      minPixels: 4096,
      maxPixels: 1003520,
    });
    const error = thrown(() => parsePreprocessorConfig({ image_mean: [0.5, 0.5] }));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toContain("preprocessor_config.json");
    expect(error.message).toContain("image_mean");
  });
});

describe("parseGenerationConfig", () => {
  it("takes both end tokens and the sampling defaults", () => {
    const config = parseGenerationConfig({
      bos_token_id: 151643,
      eos_token_id: [151645, 151643],
      pad_token_id: 151643,
      do_sample: true,
      temperature: 0.7,
      top_p: 0.8,
      top_k: 20,
    });
    expect(config).toMatchObject({ eosTokenIds: [151645, 151643], padTokenId: 151643, topK: 20, temperature: 0.7 });
    expect(parseGenerationConfig({ eos_token_id: 151645 }).eosTokenIds).toEqual([151645]);
    expect(thrown(() => parseGenerationConfig({ top_p: 2 })).message).toContain("top_p");
  });
});
