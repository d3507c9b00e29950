import { describe, expect, it } from "vitest";
import { parseModelConfig } from "../../../src/model/config.js";
import { ReferenceDecoder } from "./decoder.js";
import { maxAbs, maxAbsDiff } from "./kernels.js";
import { checkpointShapes, randomCheckpoint, tinyConfigJson } from "./random-checkpoint.js";
import type { Float64Tensor } from "./safetensors.js";
import { CORRECT } from "./variant.js";
import type { ReferenceCheckpoint } from "./weights.js";

/** A 1-layer, 1-head, hidden-4 decoder whose weights are chosen so the logits can be worked out by hand. */
function handModel(tie: boolean): ReferenceCheckpoint {
  const json = tinyConfigJson({
    tie,
    text: {
      hidden_size: 4,
      num_hidden_layers: 1,
      num_attention_heads: 1,
      num_key_value_heads: 1,
      head_dim: 4,
      intermediate_size: 2,
      vocab_size: 3,
      rms_norm_eps: 1e-300,
      rope_scaling: { rope_type: "default", mrope_section: [2, 0, 0] },
    },
    vision: { depth: 1, deepstack_visual_indexes: [0] },
  });
  const identity = Float64Array.of(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1);
  const values: Record<string, Float64Array> = {
    "model.language_model.embed_tokens.weight": Float64Array.of(3, 4, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0),
    // q = k = 0 makes every score 0: attention is the plain average of the visible values.
    "model.language_model.layers.0.self_attn.v_proj.weight": identity,
    "model.language_model.layers.0.self_attn.o_proj.weight": identity,
    "lm_head.weight": Float64Array.of(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1),
  };
  const tensors = new Map<string, Float64Tensor>();
  for (const [name, shape] of checkpointShapes(json)) {
    if (name.startsWith("model.visual")) continue;
    const count = shape.reduce((a, b) => a * b, 1);
    const fill = name.endsWith("norm.weight") || name.endsWith("layernorm.weight") ? 1 : 0;
    tensors.set(name, { shape, data: values[name] ?? new Float64Array(count).fill(fill) });
  }
  return { config: parseModelConfig(json), tensors };
}

const text = (s: number, start = 0) => {
  const row = Array.from({ length: s }, (_, i) => start + i);
  return [row, [...row], [...row]] as [number[], number[], number[]];
};

describe("reference decoder, hand-checked", () => {
  it("1 layer with uniform attention: causal average of values, residual, final RMSNorm, tied head", () => {
    const dec = new ReferenceDecoder(handModel(true), CORRECT);
    const logits = dec.forward({ embeds: dec.embed([0, 1]), positions: text(2) });
    // Token 0 sees only itself: x0 = e0 + rms(e0)-normed e0 = [3,4,0,0] + [1.2,1.6,0,0] = [4.2,5.6,0,0];
    // final norm -> [1.2,1.6,0,0]; logits = E·n = [10, 0, 1.2].
    expect(logits[0]).toBeCloseTo(10, 12);
    expect(logits[1]).toBeCloseTo(0, 12);
    expect(logits[2]).toBeCloseTo(1.2, 12);
    // Token 1 averages v0 = [1.2,1.6,0,0] and v1 = [0,0,√2,√2]: x1 = [0.6, 0.8, 1+√2/2, 1+√2/2].
    const x1 = [0.6, 0.8, 1 + Math.SQRT1_2, 1 + Math.SQRT1_2];
    const rms = Math.sqrt(x1.reduce((s, v) => s + v * v, 0) / 4);
    expect(logits[3]).toBeCloseTo((3 * 0.6 + 4 * 0.8) / rms, 12);
    expect(logits[4]).toBeCloseTo((2 * x1[2]) / rms, 12);
    expect(logits[5]).toBeCloseTo(0.6 / rms, 12);
  });

  it("an untied head projects with lm_head, not embed_tokens", () => {
    const dec = new ReferenceDecoder(handModel(false), CORRECT);
    const logits = dec.forward({ embeds: dec.embed([0]), positions: text(1) });
    // n0 = [1.2, 1.6, 0, 0]; lm_head rows [1,0,0,0], [0,1,0,0], [0,0,1,1]
    expect(Array.from(logits).map((v) => Number(v.toFixed(12)))).toEqual([1.2, 1.6, 0]);
  });
});

describe("reference decoder, properties at std 0.1", () => {
  const ck = randomCheckpoint(tinyConfigJson(), 11, 0.1);
  const ids = [5, 17, 99, 3, 42, 8, 200, 64];

  it("prefill in one call equals prefill in pieces through the KV cache", () => {
    const whole = new ReferenceDecoder(ck, CORRECT);
    const all = whole.forward({ embeds: whole.embed(ids), positions: text(8) });
    const split = new ReferenceDecoder(ck, CORRECT);
    split.forward({ embeds: split.embed(ids.slice(0, 5)), positions: text(5) });
    const tail = split.forward({ embeds: split.embed(ids.slice(5)), positions: text(3, 5) });
    expect(split.cacheLength).toBe(8);
    expect(maxAbsDiff(tail, all.subarray(5 * 256))).toBeLessThan(1e-12);
  });

  it("for text, shifting all positions together changes nothing (RoPE is relative); moving only H does", () => {
    const base = new ReferenceDecoder(ck, CORRECT);
    const ref = base.forward({ embeds: base.embed(ids), positions: text(8) });
    const shifted = new ReferenceDecoder(ck, CORRECT);
    const moved = shifted.forward({ embeds: shifted.embed(ids), positions: text(8, 1000) });
    expect(maxAbsDiff(moved, ref)).toBeLessThan(1e-9);
    const hOnly = new ReferenceDecoder(ck, CORRECT);
    const [t, h, w] = text(8);
    h[7] += 3;
    const bent = hOnly.forward({ embeds: hOnly.embed(ids), positions: [t, h, w] });
    expect(maxAbsDiff(bent.subarray(0, 7 * 256), ref.subarray(0, 7 * 256))).toBe(0);
    expect(maxAbsDiff(bent.subarray(7 * 256), ref.subarray(7 * 256)) / maxAbs(ref)).toBeGreaterThan(1e-4);
  });

  it("GQA: 4 query heads on 2 KV heads equal 4 KV heads holding each KV head twice (repeat_kv order)", () => {
    const wide = randomCheckpoint(tinyConfigJson({ text: { num_key_value_heads: 4 } }), 11, 0.1);
    for (const [name, t] of ck.tensors) if (!/\.(k_proj|v_proj)\./.test(name)) wide.tensors.set(name, t);
    for (let l = 0; l < 3; l++) {
      for (const proj of ["k_proj", "v_proj"]) {
        const name = `model.language_model.layers.${l}.self_attn.${proj}.weight`;
        const narrow = ck.tensors.get(name)!.data; // [2·32, 64]
        const rows = 32 * 64;
        const data = new Float64Array(4 * rows);
        for (let h = 0; h < 4; h++)
          data.set(narrow.subarray(Math.floor(h / 2) * rows, (Math.floor(h / 2) + 1) * rows), h * rows);
        wide.tensors.set(name, { shape: [128, 64], data });
      }
    }
    const a = new ReferenceDecoder(ck, CORRECT);
    const b = new ReferenceDecoder(wide, CORRECT);
    const la = a.forward({ embeds: a.embed(ids), positions: text(8) });
    const lb = b.forward({ embeds: b.embed(ids), positions: text(8) });
    expect(maxAbsDiff(la, lb)).toBeLessThan(1e-12);
  });

  it("DeepStack rows change their own and later logits only; zero features change nothing", () => {
    const plain = new ReferenceDecoder(ck, CORRECT).forward({
      embeds: new ReferenceDecoder(ck, CORRECT).embed(ids),
      positions: text(8),
    });
    const rows = [3, 4];
    const zeros = [0, 1, 2].map(() => new Float64Array(2 * 64));
    const z = new ReferenceDecoder(ck, CORRECT);
    const withZeros = z.forward({ embeds: z.embed(ids), positions: text(8), deepstack: { rows, features: zeros } });
    expect(maxAbsDiff(withZeros, plain)).toBe(0);
    const feats = [0, 1, 2].map((j) => Float64Array.from({ length: 128 }, (_, i) => Math.sin(i + j)));
    const d = new ReferenceDecoder(ck, CORRECT);
    const injected = d.forward({ embeds: d.embed(ids), positions: text(8), deepstack: { rows, features: feats } });
    expect(maxAbsDiff(injected.subarray(0, 3 * 256), plain.subarray(0, 3 * 256))).toBe(0);
    expect(maxAbsDiff(injected.subarray(3 * 256), plain.subarray(3 * 256)) / maxAbs(plain)).toBeGreaterThan(1e-3);
  });
});
