/** The random model both engine benchmarks build: hidden 512, 8 decoder layers, GQA 8/4 heads (issue 4 §6). */
export const ARCH = {
  text_config: {
    hidden_size: 512,
    num_hidden_layers: 8,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    head_dim: 64,
    intermediate_size: 1536,
    rope_scaling: { rope_type: "default", mrope_section: [12, 10, 10], mrope_interleaved: true },
  },
};
