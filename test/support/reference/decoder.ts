import { addInPlace, linear, mapInPlace, rmsNorm, rotateHalfRope, silu, softmax } from "./kernels.js";
import { inverseFrequencies, mropeCosSin, mropeSlotLayout, type SlotAxis } from "./mrope.js";
import type { ReferenceVariant } from "./variant.js";
import { type ReferenceCheckpoint, tensor } from "./weights.js";

/** One call of the decoder: S new tokens on top of whatever is already cached. */
export interface DecoderInput {
  /** [S, hidden] input embeddings (visual features already scattered in). */
  embeds: Float64Array;
  /** Position rows T, H, W, each of length S. */
  positions: readonly [readonly number[], readonly number[], readonly number[]];
  /**
   * DeepStack injections for this call: `rows` are indexes into the S new tokens (the visual ones, in
   * sequence order) and `features[j]` is [rows.length, hidden], added after decoder layer j.
   */
  deepstack?: { rows: readonly number[]; features: readonly Float64Array[] };
}

/** Which rows to project to logits. */
export type LogitRows = "all" | "last";

/**
 * The Qwen3-VL text decoder in float64 with a KV cache (keys stored after k_norm and RoPE, spec §1.1).
 * Each `forward` appends to the cache, so prefill-then-decode and full recompute can be compared.
 */
export class ReferenceDecoder {
  private readonly keys: Float64Array[][];
  private readonly values: Float64Array[][];
  private readonly axes: SlotAxis[];
  private readonly invFreq: Float64Array;

  constructor(
    private readonly ck: ReferenceCheckpoint,
    private readonly variant: ReferenceVariant,
  ) {
    const t = ck.config.text;
    this.keys = Array.from({ length: t.numLayers }, () => []);
    this.values = Array.from({ length: t.numLayers }, () => []);
    this.axes = mropeSlotLayout(t.mropeSection, variant.mrope);
    this.invFreq = inverseFrequencies(t.ropeTheta, t.headDim);
  }

  get cacheLength(): number {
    return this.keys[0]?.length ?? 0;
  }

  /** Rows of embed_tokens for the given ids. */
  embed(ids: readonly number[]): Float64Array {
    const t = this.ck.config.text;
    const table = tensor(this.ck, "model.language_model.embed_tokens.weight", t.vocabSize * t.hiddenSize);
    const out = new Float64Array(ids.length * t.hiddenSize);
    ids.forEach((id, i) => {
      if (id < 0 || id >= t.vocabSize)
        throw new Error(`reference: token id ${id} outside the vocabulary (${t.vocabSize})`);
      out.set(table.subarray(id * t.hiddenSize, (id + 1) * t.hiddenSize), i * t.hiddenSize);
    });
    return out;
  }

  /** Runs the new tokens through every layer, appends their K/V to the cache, returns logits. */
  forward(input: DecoderInput, rows: LogitRows = "all"): Float64Array {
    const t = this.ck.config.text;
    const H = t.hiddenSize;
    const s = input.embeds.length / H;
    if (!Number.isInteger(s) || input.positions.some((r) => r.length !== s))
      throw new Error("reference decoder: embeds and positions disagree on S");
    const x = Float64Array.from(input.embeds);
    const rope = Array.from({ length: s }, (_, i) =>
      mropeCosSin([input.positions[0][i], input.positions[1][i], input.positions[2][i]], this.invFreq, this.axes),
    );
    for (let layer = 0; layer < t.numLayers; layer++) {
      this.layer(layer, x, s, rope);
      const tap = layer - this.variant.deepstackLayerShift;
      const ds = input.deepstack;
      if (ds && tap >= 0 && tap < ds.features.length) {
        const f = ds.features[tap];
        ds.rows.forEach((r, k) => {
          for (let e = 0; e < H; e++) x[r * H + e] += f[k * H + e];
        });
      }
    }
    const normed = rmsNorm(x, H, tensor(this.ck, "model.language_model.norm.weight", H), t.rmsNormEps);
    const picked = rows === "all" ? normed : normed.subarray((s - 1) * H, s * H);
    const head = this.ck.config.tieWordEmbeddings ? "model.language_model.embed_tokens.weight" : "lm_head.weight";
    return linear(picked, picked.length / H, tensor(this.ck, head, t.vocabSize * H), t.vocabSize, H);
  }

  private layer(layer: number, x: Float64Array, s: number, rope: { cos: Float64Array; sin: Float64Array }[]) {
    const t = this.ck.config.text;
    const ck = this.ck;
    const H = t.hiddenSize;
    const hd = t.headDim;
    const nq = t.numHeads;
    const nkv = t.numKeyValueHeads;
    const p = `model.language_model.layers.${layer}`;
    const h1 = rmsNorm(x, H, tensor(ck, `${p}.input_layernorm.weight`, H), t.rmsNormEps);
    const q = rmsNorm(
      linear(h1, s, tensor(ck, `${p}.self_attn.q_proj.weight`, nq * hd * H), nq * hd, H),
      hd,
      tensor(ck, `${p}.self_attn.q_norm.weight`, hd),
      t.rmsNormEps,
    );
    const k = rmsNorm(
      linear(h1, s, tensor(ck, `${p}.self_attn.k_proj.weight`, nkv * hd * H), nkv * hd, H),
      hd,
      tensor(ck, `${p}.self_attn.k_norm.weight`, hd),
      t.rmsNormEps,
    );
    const v = linear(h1, s, tensor(ck, `${p}.self_attn.v_proj.weight`, nkv * hd * H), nkv * hd, H);
    for (let i = 0; i < s; i++) {
      for (let head = 0; head < nq; head++) rotateHalfRope(q, (i * nq + head) * hd, hd, rope[i].cos, rope[i].sin);
      for (let head = 0; head < nkv; head++) rotateHalfRope(k, (i * nkv + head) * hd, hd, rope[i].cos, rope[i].sin);
    }
    const past = this.keys[layer].length;
    for (let i = 0; i < s; i++) {
      this.keys[layer].push(k.slice(i * nkv * hd, (i + 1) * nkv * hd));
      this.values[layer].push(v.slice(i * nkv * hd, (i + 1) * nkv * hd));
    }
    const group = nq / nkv;
    const scale = 1 / Math.sqrt(hd);
    const attended = new Float64Array(s * nq * hd);
    for (let i = 0; i < s; i++) {
      const visible = past + i + 1; // causal: every cached token plus the new ones up to i
      for (let head = 0; head < nq; head++) {
        const kvHead = Math.floor(head / group);
        const scores = new Float64Array(visible);
        for (let j = 0; j < visible; j++) {
          const key = this.keys[layer][j];
          let dot = 0;
          for (let e = 0; e < hd; e++) dot += q[(i * nq + head) * hd + e] * key[kvHead * hd + e];
          scores[j] = dot * scale;
        }
        const prob = softmax(scores);
        for (let j = 0; j < visible; j++) {
          const value = this.values[layer][j];
          for (let e = 0; e < hd; e++) attended[(i * nq + head) * hd + e] += prob[j] * value[kvHead * hd + e];
        }
      }
    }
    addInPlace(x, linear(attended, s, tensor(ck, `${p}.self_attn.o_proj.weight`, H * nq * hd), H, nq * hd));
    const m = t.intermediateSize;
    const h2 = rmsNorm(x, H, tensor(ck, `${p}.post_attention_layernorm.weight`, H), t.rmsNormEps);
    const gate = mapInPlace(linear(h2, s, tensor(ck, `${p}.mlp.gate_proj.weight`, m * H), m, H), silu);
    const up = linear(h2, s, tensor(ck, `${p}.mlp.up_proj.weight`, m * H), m, H);
    for (let i = 0; i < gate.length; i++) gate[i] *= up[i];
    addInPlace(x, linear(gate, s, tensor(ck, `${p}.mlp.down_proj.weight`, H * m), H, m));
  }
}
