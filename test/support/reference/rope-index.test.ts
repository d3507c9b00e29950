import { describe, expect, it } from "vitest";
import { referenceRopeIndex } from "./rope-index.js";

const IMG = 151655;
const VID = 151656;
const VS = 151652;
const VE = 151653;
const visual = new Set([IMG, VID]);

describe("reference get_rope_index (spec §4.2)", () => {
  it("reproduces the §4.3 worked example exactly, rope_delta −18", () => {
    const ids = [1, 2, VS, ...new Array(24).fill(IMG), VE, 3];
    const { rows, ropeDelta } = referenceRopeIndex(ids, [{ t: 1, h: 8, w: 12 }], visual, 2);
    const image = (f: (r: number, c: number) => number) =>
      Array.from({ length: 24 }, (_, k) => f(Math.floor(k / 6), k % 6));
    expect(rows[0]).toEqual([0, 1, 2, ...image(() => 3), 9, 10]);
    expect(rows[1]).toEqual([0, 1, 2, ...image((r) => 3 + r), 9, 10]);
    expect(rows[2]).toEqual([0, 1, 2, ...image((_, c) => 3 + c), 9, 10]);
    expect(ropeDelta).toBe(-18);
    // First decode step: cache length 29 -> position 11 (spec §4.3).
    expect(29 + ropeDelta).toBe(11);
  });

  it("splits a video into per-2-frame blocks, each starting after its timestamp text with T = start", () => {
    // <t0> VS 4×VID VE <t1> VS 4×VID VE: grid (t=2, h=4, w=4) -> two (1, 2, 2) merged blocks.
    const ids = [7, VS, VID, VID, VID, VID, VE, 8, VS, VID, VID, VID, VID, VE];
    const { rows, ropeDelta } = referenceRopeIndex(ids, [{ t: 2, h: 4, w: 4 }], visual, 2);
    expect(rows[0]).toEqual([0, 1, 2, 2, 2, 2, 4, 5, 6, 7, 7, 7, 7, 9]);
    expect(rows[1]).toEqual([0, 1, 2, 2, 3, 3, 4, 5, 6, 7, 7, 8, 8, 9]);
    expect(rows[2]).toEqual([0, 1, 2, 3, 2, 3, 4, 5, 6, 7, 8, 7, 8, 9]);
    expect(ropeDelta).toBe(10 - 14);
  });

  it("refuses ids and grids that disagree", () => {
    expect(() => referenceRopeIndex([IMG, IMG], [{ t: 1, h: 4, w: 4 }], visual, 2)).toThrow(/ends early/);
    expect(() => referenceRopeIndex([1], [{ t: 1, h: 2, w: 2 }], visual, 2)).toThrow(/unused/);
  });
});
