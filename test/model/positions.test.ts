import { describe, expect, it } from "vitest";
import { decodePositions, positionIdsInt64, ropePositions } from "../../src/model/positions.js";

const START = 151652;
const END = 151653;
const IMAGE = 151655;
const VIDEO = 151656;
const ids = { imageTokenId: IMAGE, videoTokenId: VIDEO, visionStartTokenId: START };
const rows = (result: { positions: ArrayLike<number>[] }) => result.positions.map((row) => Array.from(row));

describe("ropePositions", () => {
  it("reproduces the worked example of spec §4.3", () => {
    // A B <|vision_start|> 24×<|image_pad|> <|vision_end|> C, image_grid_thw [1, 8, 12].
    const sequence = [10, 11, START, ...new Array(24).fill(IMAGE), END, 12];
    const result = ropePositions(sequence, { ...ids, imageGrids: [[1, 8, 12]] });
    const block = (values: number[]) => [0, 1, 2, ...values, 9, 10];
    expect(rows(result)).toEqual([
      block(new Array(24).fill(3)),
      block([3, 4, 5, 6].flatMap((h) => new Array(6).fill(h))),
      block([0, 1, 2, 3].flatMap(() => [3, 4, 5, 6, 7, 8])),
    ]);
    expect(result.ropeDelta).toBe(-18);
    expect(rows({ positions: decodePositions(29, result.ropeDelta, 2) })).toEqual([
      [11, 12],
      [11, 12],
      [11, 12],
    ]);
  });

  it("gives plain text 0..n−1 on all rows and a zero delta", () => {
    const result = ropePositions([5, 6, 7, 8], ids);
    expect(rows(result)).toEqual([
      [0, 1, 2, 3],
      [0, 1, 2, 3],
      [0, 1, 2, 3],
    ]);
    expect(result.ropeDelta).toBe(0);
    expect(ropePositions([], ids)).toMatchObject({ ropeDelta: 0 });
  });

  it("splits a video into per-group blocks with T held at the block start", () => {
    // <t0> vs 4×pad ve <t1> vs 4×pad ve X, video_grid_thw [2, 4, 4] (2 groups of 2×2 merged tokens).
    const sequence = [20, START, VIDEO, VIDEO, VIDEO, VIDEO, END, 21, START, VIDEO, VIDEO, VIDEO, VIDEO, END, 22];
    const result = ropePositions(sequence, { ...ids, videoGrids: [[2, 4, 4]] });
    expect(rows(result)).toEqual([
      [0, 1, 2, 2, 2, 2, 4, 5, 6, 7, 7, 7, 7, 9, 10],
      [0, 1, 2, 2, 3, 3, 4, 5, 6, 7, 7, 8, 8, 9, 10],
      [0, 1, 2, 3, 2, 3, 4, 5, 6, 7, 8, 7, 8, 9, 10],
    ]);
    expect(result.ropeDelta).toBe(11 - 15);
  });

  it("assigns image and video grids in prompt order when both appear", () => {
    // video group (grid 1×2×4 -> 1×2 merged) first, then an image (grid 1×4×2 -> 2×1 merged).
    const sequence = [START, VIDEO, VIDEO, END, START, IMAGE, IMAGE, END];
    const result = ropePositions(sequence, { ...ids, imageGrids: [[1, 4, 2]], videoGrids: [[1, 2, 4]] });
    expect(rows(result)).toEqual([
      [0, 1, 1, 3, 4, 5, 5, 7],
      [0, 1, 1, 3, 4, 5, 6, 7],
      [0, 1, 2, 3, 4, 5, 5, 7],
    ]);
    expect(result.ropeDelta).toBe(0);
  });

  it("refuses grids that do not match the prompt", () => {
    const sequence = [START, IMAGE, IMAGE, IMAGE, IMAGE, END];
    expect(() => ropePositions(sequence, ids)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => ropePositions(sequence, { ...ids, imageGrids: [[1, 4, 6]] })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", hint: expect.any(String) }),
    );
    expect(() => ropePositions(sequence, { ...ids, imageGrids: [[1, 3, 4]] })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(rows(ropePositions(sequence, { ...ids, imageGrids: [[1, 4, 4]] }))[2]).toEqual([0, 1, 2, 1, 2, 3]);
  });
});

describe("decodePositions and positionIdsInt64", () => {
  it("continues at cacheLength + ropeDelta on all rows", () => {
    expect(rows({ positions: decodePositions(100, -40, 3) })).toEqual([
      [60, 61, 62],
      [60, 61, 62],
      [60, 61, 62],
    ]);
    expect(() => decodePositions(-1, 0)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("lays rows out as [3, 1, S] int64", () => {
    const data = positionIdsInt64([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(Array.from(data)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
  });
});
