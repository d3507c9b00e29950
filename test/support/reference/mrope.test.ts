import { describe, expect, it } from "vitest";
import { inverseFrequencies, mropeCosSin, mropeSlotLayout } from "./mrope.js";

const letters = (axes: number[]) => axes.map((a) => "THW"[a]).join("");

describe("reference MRoPE slot layout (spec §4.1, §13.1)", () => {
  it("[24, 20, 20] interleaves THW twenty times, then TTTT", () => {
    expect(letters(mropeSlotLayout([24, 20, 20], "interleaved"))).toBe(`${"THW".repeat(20)}TTTT`);
  });

  it("[4, 2, 2] gives THWTHWTT (the §13.1 example), chunked gives TTTTHHWW", () => {
    expect(letters(mropeSlotLayout([4, 2, 2], "interleaved"))).toBe("THWTHWTT");
    expect(letters(mropeSlotLayout([4, 2, 2], "chunked"))).toBe("TTTTHHWW");
  });

  it("the tiny model's [6, 5, 5] (head_dim 32) interleaves 5 times then ends with T", () => {
    const axes = mropeSlotLayout([6, 5, 5], "interleaved");
    expect(letters(axes)).toBe("THWTHWTHWTHWTHWT");
    expect(axes.filter((a) => a === 0)).toHaveLength(6);
  });

  it("cos/sin use the slot's own axis and are duplicated across the two halves", () => {
    const inv = inverseFrequencies(10000, 8); // [1, 0.1, 0.01, 0.001]
    expect(Array.from(inv)).toEqual([1, 10000 ** -0.25, 10000 ** -0.5, 10000 ** -0.75]);
    const { cos, sin } = mropeCosSin([2, 3, 5], inv, mropeSlotLayout([2, 1, 1], "interleaved")); // T H W T
    const angles = [2 * inv[0], 3 * inv[1], 5 * inv[2], 2 * inv[3]];
    expect(Array.from(cos)).toEqual([...angles, ...angles].map(Math.cos));
    expect(Array.from(sin)).toEqual([...angles, ...angles].map(Math.sin));
  });
});
