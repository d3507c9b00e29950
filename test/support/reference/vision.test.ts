import { describe, expect, it } from "vitest";
import { maxAbs, maxAbsDiff } from "./kernels.js";
import { randomCheckpoint, seededNormal, tinyConfigJson } from "./random-checkpoint.js";
import { CORRECT } from "./variant.js";
import { geluErf } from "./kernels.js";
import { blockOrderCoords, interpolatePosEmbedRaster, patchMerger, referenceVision } from "./vision.js";

const PATCH = 3 * 2 * 16 * 16;

function randomPixels(patches: number, seed: number): Float64Array {
  const normal = seededNormal(seed);
  return Float64Array.from({ length: patches * PATCH }, () => 0.5 * normal());
}

describe("reference position embedding (spec §3.2)", () => {
  // A 4×4 table whose single channel holds 4·row + col is linear in (row, col), so bilinear resampling
  // must return exactly 4·h + w at the align-corners sample points.
  const table = Float64Array.from({ length: 16 }, (_, i) => i);

  it("is the identity when the grid equals the table", () => {
    expect(Array.from(interpolatePosEmbedRaster(table, 4, 1, 4, 4))).toEqual(Array.from(table));
  });

  it("samples align-corners points: a 3×2 grid reads rows 0, 1.5, 3 and cols 0, 3", () => {
    expect(Array.from(interpolatePosEmbedRaster(table, 4, 1, 3, 2))).toEqual([0, 3, 6, 9, 12, 15]);
  });

  it("a 1-row grid samples row 0 only", () => {
    expect(Array.from(interpolatePosEmbedRaster(table, 4, 1, 1, 4))).toEqual([0, 1, 2, 3]);
  });
});

describe("reference ViT patch order (spec §2.1 step 5, §3.3)", () => {
  it("enumerates 2×2 blocks row by row, each block's four patches raster inside it", () => {
    expect(blockOrderCoords(4, 4, 2).slice(0, 8)).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
    ]);
    expect(blockOrderCoords(2, 6, 2).map(([r, c]) => r * 6 + c)).toEqual([0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11]);
  });
});

describe("reference vision tower", () => {
  const ck = randomCheckpoint(tinyConfigJson(), 7, 0.1);
  const gridA = { t: 1, h: 4, w: 6 };
  const gridB = { t: 1, h: 6, w: 4 };
  const a = randomPixels(24, 1);
  const b = randomPixels(24, 2);
  const both = referenceVision(ck, Float64Array.from([...a, ...b]), [gridA, gridB], CORRECT);

  it("makes one feature row per 2×2 block and one DeepStack tensor per tap", () => {
    expect(both.tokens).toBe(12);
    expect(both.features).toHaveLength(12 * 64);
    expect(both.deepstack).toHaveLength(3);
    for (const d of both.deepstack) expect(d).toHaveLength(12 * 64);
  });

  it("keeps images apart: two images in one call equal each image alone (block-diagonal attention)", () => {
    const alone = referenceVision(ck, a, [gridA], CORRECT);
    expect(maxAbsDiff(both.features.subarray(0, 6 * 64), alone.features)).toBeLessThan(1e-12);
    expect(maxAbsDiff(both.deepstack[2].subarray(0, 6 * 64), alone.deepstack[2])).toBeLessThan(1e-12);
    const changedB = referenceVision(ck, Float64Array.from([...a, ...randomPixels(24, 3)]), [gridA, gridB], CORRECT);
    expect(maxAbsDiff(changedB.features.subarray(0, 6 * 64), both.features.subarray(0, 6 * 64))).toBe(0);
    expect(maxAbsDiff(changedB.features.subarray(6 * 64), both.features.subarray(6 * 64))).toBeGreaterThan(1e-3);
  });

  it("attends within each 2-frame group of a video, not across groups", () => {
    const g0 = randomPixels(16, 4);
    const g1 = randomPixels(16, 5);
    const video = referenceVision(ck, Float64Array.from([...g0, ...g1]), [{ t: 2, h: 4, w: 4 }], CORRECT);
    const first = referenceVision(ck, g0, [{ t: 1, h: 4, w: 4 }], CORRECT);
    expect(maxAbsDiff(video.features.subarray(0, 4 * 64), first.features)).toBeLessThan(1e-12);
  });

  it("is not permutation-blind: the same patches in another order give other features", () => {
    // Position embedding and rotary tie each row to its place; swapping two blocks must change the output
    // of those blocks by more than rounding.
    const swapped = Float64Array.from(a);
    swapped.set(a.subarray(0, 4 * PATCH), 4 * PATCH);
    swapped.set(a.subarray(4 * PATCH, 8 * PATCH), 0);
    const out = referenceVision(ck, swapped, [gridA], CORRECT);
    const alone = referenceVision(ck, a, [gridA], CORRECT);
    const diff = maxAbsDiff(out.features.subarray(0, 64), alone.features.subarray(64, 128));
    expect(diff / maxAbs(alone.features)).toBeGreaterThan(1e-3);
  });
});

describe("reference patch mergers (spec §3.5, §3.6)", () => {
  const ck = randomCheckpoint(tinyConfigJson(), 9, 0.1);
  const v = ck.config.vision;
  const normal = seededNormal(17);
  const x = Float64Array.from({ length: v.hiddenSize }, () => normal());
  // One 2×2 block whose four patches are x, 2x, 3x, 4x versus four copies of x. LayerNorm is scale
  // invariant per vector (up to eps), so normalising each patch first (main merger) cannot tell them
  // apart, while normalising the 4·hidden concatenation (DeepStack merger) must.
  const block = (scales: number[]) => Float64Array.from(scales.flatMap((k) => Array.from(x, (e) => k * e)));
  const scaled = block([1, 2, 3, 4]);
  const same = block([1, 1, 1, 1]);

  it("the main merger normalises each patch before the 2×2 concat", () => {
    const a = patchMerger(scaled, 4, v, ck, "model.visual.merger", false, geluErf);
    const b = patchMerger(same, 4, v, ck, "model.visual.merger", false, geluErf);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4 * maxAbs(b));
  });

  it("a DeepStack merger normalises the concatenated 4·hidden vector", () => {
    const a = patchMerger(scaled, 4, v, ck, "model.visual.deepstack_merger_list.0", true, geluErf);
    const b = patchMerger(same, 4, v, ck, "model.visual.deepstack_merger_list.0", true, geluErf);
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-2 * maxAbs(b));
  });
});
