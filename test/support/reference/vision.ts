import type { VisionConfig } from "../../../src/model/config.js";
import { addInPlace, geluErf, geluTanh, layerNorm, linear, mapInPlace, rotateHalfRope, softmax } from "./kernels.js";
import type { VisualGrid } from "./rope-index.js";
import type { ReferenceVariant } from "./variant.js";
import { type ReferenceCheckpoint, tensor } from "./weights.js";

/** Output of the vision tower: one row per merged token, in the order of the input grids. */
export interface ReferenceVisionOutput {
  /** [tokens, outHidden] — the main merger output that replaces the pad tokens. */
  features: Float64Array;
  /** One [tokens, outHidden] tensor per DeepStack tap, in deepstack_visual_indexes order. */
  deepstack: Float64Array[];
  tokens: number;
}

const LN_EPS = 1e-6;
const VIT_ROPE_THETA = 10000;

/**
 * Learned position embedding for one grid, spec §3.2: bilinear, align-corners resampling of the
 * side×side table to (h, w), in raster order [h·w, hidden].
 */
export function interpolatePosEmbedRaster(table: Float64Array, side: number, hidden: number, h: number, w: number) {
  const lin = (n: number) => Array.from({ length: n }, (_, i) => (n === 1 ? 0 : (i * (side - 1)) / (n - 1)));
  const hs = lin(h);
  const ws = lin(w);
  const out = new Float64Array(h * w * hidden);
  for (let r = 0; r < h; r++) {
    const f0 = Math.floor(hs[r]);
    const f1 = Math.min(f0 + 1, side - 1);
    const dh = hs[r] - f0;
    for (let c = 0; c < w; c++) {
      const g0 = Math.floor(ws[c]);
      const g1 = Math.min(g0 + 1, side - 1);
      const dw = ws[c] - g0;
      const corners: [number, number][] = [
        [f0 * side + g0, (1 - dh) * (1 - dw)],
        [f0 * side + g1, (1 - dh) * dw],
        [f1 * side + g0, dh * (1 - dw)],
        [f1 * side + g1, dh * dw],
      ];
      const o = (r * w + c) * hidden;
      for (const [row, weight] of corners) {
        for (let k = 0; k < hidden; k++) out[o + k] += weight * table[row * hidden + k];
      }
    }
  }
  return out;
}

/** (row, col) in full-resolution patch units of each patch of one frame, enumerated in 2×2-block order. */
export function blockOrderCoords(h: number, w: number, merge: number): [number, number][] {
  const coords: [number, number][] = [];
  for (let br = 0; br < h / merge; br++)
    for (let bc = 0; bc < w / merge; bc++)
      for (let r = 0; r < merge; r++) for (let c = 0; c < merge; c++) coords.push([br * merge + r, bc * merge + c]);
  return coords;
}

/** One ViT block's pre-norm attention over the given segments (each a full-attention island). */
function visionAttention(
  x: Float64Array,
  n: number,
  v: VisionConfig,
  ck: ReferenceCheckpoint,
  prefix: string,
  segments: [number, number][],
  rope: { cos: Float64Array; sin: Float64Array }[] | undefined,
) {
  const d = v.hiddenSize;
  const hd = v.headDim;
  const normed = layerNorm(
    x,
    d,
    tensor(ck, `${prefix}.norm1.weight`, d),
    tensor(ck, `${prefix}.norm1.bias`, d),
    LN_EPS,
  );
  const qkv = linear(
    normed,
    n,
    tensor(ck, `${prefix}.attn.qkv.weight`, 3 * d * d),
    3 * d,
    d,
    tensor(ck, `${prefix}.attn.qkv.bias`, 3 * d),
  );
  // qkv rows split as [3][heads][head_dim] (reshape(seq, 3, heads, -1) in HF).
  const q = new Float64Array(n * d);
  const k = new Float64Array(n * d);
  const val = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    q.set(qkv.subarray(i * 3 * d, i * 3 * d + d), i * d);
    k.set(qkv.subarray(i * 3 * d + d, i * 3 * d + 2 * d), i * d);
    val.set(qkv.subarray(i * 3 * d + 2 * d, i * 3 * d + 3 * d), i * d);
  }
  if (rope) {
    for (let i = 0; i < n; i++) {
      for (let head = 0; head < v.numHeads; head++) {
        rotateHalfRope(q, i * d + head * hd, hd, rope[i].cos, rope[i].sin);
        rotateHalfRope(k, i * d + head * hd, hd, rope[i].cos, rope[i].sin);
      }
    }
  }
  const attended = new Float64Array(n * d);
  const scale = 1 / Math.sqrt(hd);
  for (const [start, end] of segments) {
    for (let head = 0; head < v.numHeads; head++) {
      for (let i = start; i < end; i++) {
        const scores = new Float64Array(end - start);
        for (let j = start; j < end; j++) {
          let s = 0;
          for (let e = 0; e < hd; e++) s += q[i * d + head * hd + e] * k[j * d + head * hd + e];
          scores[j - start] = s * scale;
        }
        const p = softmax(scores);
        for (let j = start; j < end; j++) {
          for (let e = 0; e < hd; e++) attended[i * d + head * hd + e] += p[j - start] * val[j * d + head * hd + e];
        }
      }
    }
  }
  const projected = linear(
    attended,
    n,
    tensor(ck, `${prefix}.attn.proj.weight`, d * d),
    d,
    d,
    tensor(ck, `${prefix}.attn.proj.bias`, d),
  );
  addInPlace(x, projected);
}

function visionMlp(
  x: Float64Array,
  n: number,
  v: VisionConfig,
  ck: ReferenceCheckpoint,
  prefix: string,
  act: (z: number) => number,
) {
  const d = v.hiddenSize;
  const m = v.intermediateSize;
  const normed = layerNorm(
    x,
    d,
    tensor(ck, `${prefix}.norm2.weight`, d),
    tensor(ck, `${prefix}.norm2.bias`, d),
    LN_EPS,
  );
  const hidden = mapInPlace(
    linear(
      normed,
      n,
      tensor(ck, `${prefix}.mlp.linear_fc1.weight`, m * d),
      m,
      d,
      tensor(ck, `${prefix}.mlp.linear_fc1.bias`, m),
    ),
    act,
  );
  addInPlace(
    x,
    linear(
      hidden,
      n,
      tensor(ck, `${prefix}.mlp.linear_fc2.weight`, d * m),
      d,
      m,
      tensor(ck, `${prefix}.mlp.linear_fc2.bias`, d),
    ),
  );
}

/**
 * Patch merger, spec §3.5/§3.6: the main merger normalises each patch before grouping 2×2 blocks
 * (consecutive rows); a DeepStack merger groups first and normalises the 4·hidden vector.
 */
export function patchMerger(
  x: Float64Array,
  n: number,
  v: VisionConfig,
  ck: ReferenceCheckpoint,
  prefix: string,
  postShuffleNorm: boolean,
  act: (z: number) => number,
) {
  const d = v.hiddenSize;
  const group = v.spatialMergeSize ** 2;
  const wide = d * group;
  const tokens = n / group;
  const grouped = postShuffleNorm
    ? layerNorm(x, wide, tensor(ck, `${prefix}.norm.weight`, wide), tensor(ck, `${prefix}.norm.bias`, wide), LN_EPS)
    : layerNorm(x, d, tensor(ck, `${prefix}.norm.weight`, d), tensor(ck, `${prefix}.norm.bias`, d), LN_EPS);
  const hidden = mapInPlace(
    linear(
      grouped,
      tokens,
      tensor(ck, `${prefix}.linear_fc1.weight`, wide * wide),
      wide,
      wide,
      tensor(ck, `${prefix}.linear_fc1.bias`, wide),
    ),
    act,
  );
  const out = v.outHiddenSize;
  return linear(
    hidden,
    tokens,
    tensor(ck, `${prefix}.linear_fc2.weight`, out * wide),
    out,
    wide,
    tensor(ck, `${prefix}.linear_fc2.bias`, out),
  );
}

/**
 * The whole vision tower on patch rows laid out as the processor makes them (spec §2.1 step 5): rows in
 * (t, block_row, block_col, r, c) order, each row [C][T][P][P]. Grids in the same order as the rows.
 */
export function referenceVision(
  ck: ReferenceCheckpoint,
  pixels: Float64Array,
  grids: readonly VisualGrid[],
  variant: ReferenceVariant,
): ReferenceVisionOutput {
  const v = ck.config.vision;
  const d = v.hiddenSize;
  const patchDim = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
  const n = grids.reduce((s, g) => s + g.t * g.h * g.w, 0);
  if (pixels.length !== n * patchDim)
    throw new Error(`referenceVision: ${pixels.length} pixel values, grids need ${n}×${patchDim}`);
  const merge = v.spatialMergeSize;

  // Conv3d with kernel = stride = (T, P, P) on pre-flattened [C][T][P][P] rows is a Linear.
  const x = linear(
    pixels,
    n,
    tensor(ck, "model.visual.patch_embed.proj.weight", d * patchDim),
    d,
    patchDim,
    tensor(ck, "model.visual.patch_embed.proj.bias", d),
  );

  const side = Math.round(Math.sqrt(v.numPositionEmbeddings));
  const table = tensor(ck, "model.visual.pos_embed.weight", v.numPositionEmbeddings * d);
  const ropeFreqs = Array.from({ length: v.headDim / 4 }, (_, j) => 1 / VIT_ROPE_THETA ** ((2 * j) / (v.headDim / 2)));
  const rope: { cos: Float64Array; sin: Float64Array }[] = [];
  const segments: [number, number][] = [];
  let row = 0;
  for (const g of grids) {
    const raster = interpolatePosEmbedRaster(table, side, d, g.h, g.w);
    const coords = blockOrderCoords(g.h, g.w, merge);
    for (let t = 0; t < g.t; t++) {
      segments.push([row, row + g.h * g.w]);
      for (let p = 0; p < coords.length; p++, row++) {
        const [r, c] = coords[p];
        const source = variant.posEmbedOrder === "block" ? r * g.w + c : p;
        for (let k = 0; k < d; k++) x[row * d + k] += raster[source * d + k];
        // Angles [r·f, c·f] (head_dim/2 values), then cat(a, a) to head_dim.
        const angles = [...ropeFreqs.map((f) => r * f), ...ropeFreqs.map((f) => c * f)];
        const full = [...angles, ...angles];
        rope.push({ cos: Float64Array.from(full, Math.cos), sin: Float64Array.from(full, Math.sin) });
      }
    }
  }

  const vitAct = variant.gelu === "spec" ? geluTanh : geluErf;
  const mergerAct = variant.gelu === "spec" ? geluErf : geluTanh;
  const deepstack: Float64Array[] = new Array(v.deepstackVisualIndexes.length);
  for (let b = 0; b < v.depth; b++) {
    const prefix = `model.visual.blocks.${b}`;
    visionAttention(x, n, v, ck, prefix, segments, variant.visionRotary ? rope : undefined);
    visionMlp(x, n, v, ck, prefix, vitAct);
    const tap = v.deepstackVisualIndexes.indexOf(b);
    if (tap >= 0)
      deepstack[tap] = patchMerger(x, n, v, ck, `model.visual.deepstack_merger_list.${tap}`, true, mergerAct);
  }
  const features = patchMerger(x, n, v, ck, "model.visual.merger", false, mergerAct);
  return { features, deepstack, tokens: n / merge ** 2 };
}
