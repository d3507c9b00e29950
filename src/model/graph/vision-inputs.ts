import { SquintError } from "../../errors.js";
import type { VisionConfig } from "../config.js";
import type { GraphMutation } from "./contract.js";

/**
 * The per-segment side inputs of the vision graph (see contract.ts): the bilinear corners and weights that
 * resample the learned 2-D position table to the segment's patch grid (spec §3.2), and each patch's
 * (row, col) for the 2-D rotary (spec §3.3). Both are enumerated in the 2×2 merge-block order the patch rows
 * use, which is exactly the detail a raster-order bug gets wrong — the `pos-embed-raster` mutation
 * reproduces that bug for the parity tests.
 */
export interface VisionSegmentInputs {
  /** Number of patches N = gh·gw. */
  patches: number;
  /** [N, 4] rows of the pos_embed table. */
  posEmbedIndices: BigInt64Array;
  /** [N, 4] bilinear weights matching posEmbedIndices. */
  posEmbedWeights: Float32Array;
  /** [N, 2] (row, col) in patch units. */
  rotaryPositions: BigInt64Array;
}

/** align_corners linspace over [0, side-1] with `count` points (torch.linspace semantics). */
function cornerLinspace(side: number, count: number): number[] {
  if (count === 1) return [0];
  const step = (side - 1) / (count - 1);
  return Array.from({ length: count }, (_, i) => i * step);
}

/** Patch (row, col) pairs in 2×2-block order: (block_row, block_col, row_in_block, col_in_block). */
export function blockOrderPatches(gh: number, gw: number, merge: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let br = 0; br < gh / merge; br++) {
    for (let bc = 0; bc < gw / merge; bc++) {
      for (let r = 0; r < merge; r++) {
        for (let c = 0; c < merge; c++) out.push([br * merge + r, bc * merge + c]);
      }
    }
  }
  return out;
}

function rasterOrderPatches(gh: number, gw: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let r = 0; r < gh; r++) for (let c = 0; c < gw; c++) out.push([r, c]);
  return out;
}

/**
 * Side inputs for one vision segment with patch grid (gh, gw). `mutation` is test-only (contract.ts).
 */
export function visionSegmentInputs(
  gh: number,
  gw: number,
  vision: Pick<VisionConfig, "numPositionEmbeddings" | "spatialMergeSize">,
  mutation?: GraphMutation,
): VisionSegmentInputs {
  const merge = vision.spatialMergeSize;
  if (!Number.isInteger(gh) || !Number.isInteger(gw) || gh <= 0 || gw <= 0 || gh % merge !== 0 || gw % merge !== 0) {
    throw new SquintError("INVALID_ARGUMENT", `vision grid ${gh}×${gw} is not a positive multiple of ${merge}`, {
      hint: "Pass the image_grid_thw rows (in patch units) the preprocessor produced.",
    });
  }
  const side = Math.round(Math.sqrt(vision.numPositionEmbeddings));
  if (side * side !== vision.numPositionEmbeddings) {
    throw new SquintError("INVALID_CONFIG", `num_position_embeddings ${vision.numPositionEmbeddings} is not a square`);
  }
  const hs = cornerLinspace(side, gh);
  const ws = cornerLinspace(side, gw);
  const n = gh * gw;
  const posEmbedIndices = new BigInt64Array(n * 4);
  const posEmbedWeights = new Float32Array(n * 4);
  const rotaryPositions = new BigInt64Array(n * 2);
  const blockOrder = blockOrderPatches(gh, gw, merge);
  const posOrder = mutation === "pos-embed-raster" ? rasterOrderPatches(gh, gw) : blockOrder;
  for (let p = 0; p < n; p++) {
    const [row, col] = posOrder[p]!;
    const h = hs[row]!;
    const w = ws[col]!;
    const h0 = Math.floor(h);
    const w0 = Math.floor(w);
    const h1 = Math.min(h0 + 1, side - 1);
    const w1 = Math.min(w0 + 1, side - 1);
    const dh = h - h0;
    const dw = w - w0;
    const corners = [h0 * side + w0, h0 * side + w1, h1 * side + w0, h1 * side + w1];
    const weights = [(1 - dh) * (1 - dw), (1 - dh) * dw, dh * (1 - dw), dh * dw];
    for (let k = 0; k < 4; k++) {
      posEmbedIndices[p * 4 + k] = BigInt(corners[k]!);
      posEmbedWeights[p * 4 + k] = weights[k]!;
    }
    const [rr, rc] = blockOrder[p]!;
    rotaryPositions[p * 2] = BigInt(rr);
    rotaryPositions[p * 2 + 1] = BigInt(rc);
  }
  return { patches: n, posEmbedIndices, posEmbedWeights, rotaryPositions };
}
