import { describe, expect, it } from "vitest";
import { blockOrderPatches, visionSegmentInputs } from "../../../src/model/graph/vision-inputs.js";

const vision = { numPositionEmbeddings: 2304, spatialMergeSize: 2 };

describe("visionSegmentInputs", () => {
  it("enumerates patches in 2×2 merge-block order (spec §2.1 step 5)", () => {
    expect(blockOrderPatches(2, 4, 2)).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
    ]);
    const inputs = visionSegmentInputs(2, 4, vision);
    expect(Array.from(inputs.rotaryPositions, Number)).toEqual([0, 0, 0, 1, 1, 0, 1, 1, 0, 2, 0, 3, 1, 2, 1, 3]);
  });

  it("resamples the 48×48 table with align-corners bilinear weights that sum to 1", () => {
    const gh = 4;
    const gw = 6;
    const inputs = visionSegmentInputs(gh, gw, vision);
    expect(inputs.patches).toBe(24);
    for (let p = 0; p < 24; p++) {
      const w = Array.from(inputs.posEmbedWeights.subarray(p * 4, p * 4 + 4));
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
    // Patch 0 is (0, 0): the table's corner, weight 1 on row 0.
    expect(Number(inputs.posEmbedIndices[0])).toBe(0);
    expect(inputs.posEmbedWeights[0]).toBe(1);
    // Patch 7 in block order is (1, 3) (second 2×2 block, last cell); h = 47/3, w = 3·47/5 in table units.
    const [row, col] = blockOrderPatches(gh, gw, 2)[7]!;
    expect([row, col]).toEqual([1, 3]);
    const h = (row * 47) / 3;
    const wv = (col * 47) / 5;
    const corners = Array.from(inputs.posEmbedIndices.subarray(28, 32), Number);
    expect(corners).toEqual([
      Math.floor(h) * 48 + Math.floor(wv),
      Math.floor(h) * 48 + Math.floor(wv) + 1,
      (Math.floor(h) + 1) * 48 + Math.floor(wv),
      (Math.floor(h) + 1) * 48 + Math.floor(wv) + 1,
    ]);
    const dh = h - Math.floor(h);
    const dw = wv - Math.floor(wv);
    expect(inputs.posEmbedWeights[28]).toBeCloseTo((1 - dh) * (1 - dw), 6);
    expect(inputs.posEmbedWeights[31]).toBeCloseTo(dh * dw, 6);
  });

  it("the last row and column land exactly on the table's last entries", () => {
    const inputs = visionSegmentInputs(2, 2, vision);
    // Patch 3 is (1, 1) → table (47, 47); its ceil corners clamp to 47.
    expect(Array.from(inputs.posEmbedIndices.subarray(12, 16), Number)).toEqual([2303, 2303, 2303, 2303]);
    expect(inputs.posEmbedWeights[12]).toBe(1);
  });

  it("the pos-embed-raster mutation changes the table rows but not the rotary positions", () => {
    const good = visionSegmentInputs(4, 4, vision);
    const bad = visionSegmentInputs(4, 4, vision, "pos-embed-raster");
    expect(Array.from(bad.rotaryPositions)).toEqual(Array.from(good.rotaryPositions));
    expect(Array.from(bad.posEmbedIndices)).not.toEqual(Array.from(good.posEmbedIndices));
  });

  it("rejects grids that are not multiples of the merge size", () => {
    expect(() => visionSegmentInputs(3, 4, vision)).toThrow(/multiple of 2/);
  });
});
