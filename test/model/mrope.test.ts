import { describe, expect, it } from "vitest";
import { mropeCosSin, mropeSlotAxes } from "../../src/model/mrope.js";

const letters = (slots: Uint8Array) => Array.from(slots, (axis) => "THW"[axis]).join("");

describe("mropeSlotAxes (spec §13.1 rule)", () => {
  it("gives THW×20 then TTTT for [24, 20, 20] and head_dim 128", () => {
    const slots = mropeSlotAxes([24, 20, 20], 128);
    expect(slots.length).toBe(64);
    expect(letters(slots)).toBe(`${"THW".repeat(20)}TTTT`);
    const counts = [0, 0, 0];
    for (const axis of slots) counts[axis]++;
    expect(counts).toEqual([24, 20, 20]);
  });

  it("gives THWTHWTT for the tiny [4, 2, 2] / 16 layout", () => {
    expect(letters(mropeSlotAxes([4, 2, 2], 16))).toBe("THWTHWTT");
  });

  it("is not the chunked Qwen2.5-VL layout", () => {
    const slots = mropeSlotAxes([16, 24, 24], 128);
    // The chunked reading would make slots 0–15 all T; the interleave gives H at 1 and W at 2.
    expect(letters(slots).slice(0, 6)).toBe("THWTHW");
  });

  it("rejects odd head dims and malformed sections", () => {
    expect(() => mropeSlotAxes([24, 20, 20], 127)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => mropeSlotAxes([24, 20], 128)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("mropeCosSin", () => {
  it("reduces to ordinary RoPE when the three rows are equal", () => {
    const positions = [0, 1, 7, 300, 4095];
    const headDim = 128;
    const theta = 5_000_000;
    const { cos, sin } = mropeCosSin([positions, positions, positions], {
      headDim,
      ropeTheta: theta,
      mropeSection: [24, 20, 20],
    });
    expect(cos.length).toBe(positions.length * headDim);
    positions.forEach((p, s) => {
      for (let j = 0; j < headDim / 2; j++) {
        const angle = p / theta ** ((2 * j) / headDim);
        for (const k of [j, j + headDim / 2]) {
          expect(Math.abs(cos[s * headDim + k] - Math.cos(angle))).toBeLessThan(2e-3 * Math.max(1, p / 1000));
          expect(Math.abs(sin[s * headDim + k] - Math.sin(angle))).toBeLessThan(2e-3 * Math.max(1, p / 1000));
        }
      }
    });
    // Position 0 is the identity rotation.
    expect(Array.from(cos.subarray(0, headDim)).every((value) => value === 1)).toBe(true);
    expect(Array.from(sin.subarray(0, headDim)).every((value) => value === 0)).toBe(true);
  });

  it("takes each slot's angle from its own axis (tiny layout THWTHWTT)", () => {
    const headDim = 16;
    const theta = 10_000;
    const { cos, sin } = mropeCosSin([[5], [7], [11]], { headDim, ropeTheta: theta, mropeSection: [4, 2, 2] });
    const layout = [5, 7, 11, 5, 7, 11, 5, 5]; // T H W T H W T T
    for (let j = 0; j < 8; j++) {
      const angle = layout[j] / theta ** ((2 * j) / headDim);
      expect(cos[j]).toBeCloseTo(Math.cos(angle), 6);
      expect(sin[j]).toBeCloseTo(Math.sin(angle), 6);
      expect(cos[j + 8]).toBe(cos[j]);
      expect(sin[j + 8]).toBe(sin[j]);
    }
  });

  it("rejects rows of different lengths", () => {
    expect(() => mropeCosSin([[1, 2], [1], [1, 2]], { headDim: 16, ropeTheta: 1e4, mropeSection: [4, 2, 2] })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });
});
