import { describe, expect, it } from "vitest";
import { dbBoxes, defaultDbParams, unclip } from "../../../../src/tools/ocr/ppocr/detection-postprocess.js";
import { rectBounds } from "../../../../src/tools/ocr/rotated-rect.js";

/** A probability map with filled axis-aligned blocks. */
function mapWith(
  width: number,
  height: number,
  blocks: { x: number; y: number; w: number; h: number; p: number }[],
): Float32Array {
  const map = new Float32Array(width * height);
  for (const b of blocks) {
    for (let y = b.y; y < b.y + b.h; y++) for (let x = b.x; x < b.x + b.w; x++) map[y * width + x] = b.p;
  }
  return map;
}

describe("dbBoxes", () => {
  it("finds each confident region and grows it by the unclip distance", () => {
    const map = mapWith(200, 100, [
      { x: 10, y: 10, w: 80, h: 10, p: 0.9 },
      { x: 20, y: 60, w: 120, h: 14, p: 0.95 },
    ]);
    const boxes = dbBoxes(map, 200, 100).sort((a, b) => a.rect.cy - b.rect.cy);
    expect(boxes).toHaveLength(2);
    // 80x10 region: offset = 80*10*1.5 / (2*90) = 6.67 on every side.
    const d = (80 * 10 * 1.5) / (2 * 90);
    const first = rectBounds(boxes[0].rect);
    expect(first.x1).toBeCloseTo(10 - d, 6);
    expect(first.x2).toBeCloseTo(90 + d, 6);
    expect(first.y1).toBeCloseTo(10 - d, 6);
    expect(first.y2).toBeCloseTo(20 + d, 6);
    expect(boxes[0].score).toBeCloseTo(0.9, 5);
    expect(boxes[1].rect.width).toBeGreaterThan(120);
  });

  it("drops regions whose mean probability is under the box threshold, and specks under the minimum side", () => {
    const map = mapWith(100, 100, [
      { x: 10, y: 10, w: 40, h: 10, p: 0.45 },
      { x: 60, y: 60, w: 2, h: 2, p: 0.99 },
    ]);
    expect(dbBoxes(map, 100, 100)).toEqual([]);
    expect(dbBoxes(map, 100, 100, { ...defaultDbParams, boxThreshold: 0.4 })).toHaveLength(1);
  });

  it("keeps a slanted line as one rotated box", () => {
    const width = 200;
    const map = new Float32Array(width * 120);
    for (let x = 20; x < 180; x++) {
      const y0 = Math.round(20 + x * 0.4);
      for (let y = y0; y < y0 + 8; y++) map[y * width + x] = 0.9;
    }
    const boxes = dbBoxes(map, width, 120);
    expect(boxes).toHaveLength(1);
    const angle = (Math.atan2(boxes[0].rect.uy, boxes[0].rect.ux) * 180) / Math.PI;
    expect(angle).toBeCloseTo((Math.atan(0.4) * 180) / Math.PI, 0);
  });

  it("unclip keeps the centre and direction", () => {
    const grown = unclip({ cx: 5, cy: 6, ux: 0.6, uy: 0.8, width: 10, height: 4 }, 2);
    expect(grown).toMatchObject({ cx: 5, cy: 6, ux: 0.6, uy: 0.8 });
    expect(grown.width - 10).toBeCloseTo((2 * 10 * 4 * 2) / (2 * 14), 9);
  });
});
