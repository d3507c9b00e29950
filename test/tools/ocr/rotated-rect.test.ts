import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  convexHull,
  minAreaRect,
  orientForReading,
  rectBounds,
  rectContains,
  rectCorners,
} from "../../../src/tools/ocr/rotated-rect.js";

describe("minAreaRect", () => {
  it("recovers a rotated rectangle from its corners and inner points", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 10, max: 400, noNaN: true }),
        fc.double({ min: 0.05, max: 0.6, noNaN: true }),
        fc.double({ min: -40, max: 40, noNaN: true }),
        (width, aspect, degrees) => {
          // A line: clearly longer than high, so its long side is the reading direction.
          const height = width * aspect;
          const angle = (degrees * Math.PI) / 180;
          const rect = { cx: 500, cy: 300, ux: Math.cos(angle), uy: Math.sin(angle), width, height };
          const inner = [0.2, 0.5, 0.8].map((f) => ({
            x: 500 + (f - 0.5) * width * 0.5 * rect.ux,
            y: 300 + (f - 0.5) * width * 0.5 * rect.uy,
          }));
          const found = minAreaRect([...rectCorners(rect), ...inner]);
          expect(found.width).toBeCloseTo(width, 6);
          expect(found.height).toBeCloseTo(height, 6);
          expect(Math.abs(found.ux * rect.ux + found.uy * rect.uy)).toBeCloseTo(1, 6);
          expect(found.cx).toBeCloseTo(500, 6);
          expect(found.cy).toBeCloseTo(300, 6);
          // Reading direction points right for text within 45° of horizontal.
          expect(found.ux).toBeGreaterThan(0);
        },
      ),
    );
  });

  it("reads a near-square glyph box horizontally and a tall narrow line downwards", () => {
    const square = orientForReading({ cx: 0, cy: 0, ux: 0, uy: 1, width: 22, height: 20 });
    expect(square.ux).toBeCloseTo(1);
    expect(square.width).toBe(20);
    const column = orientForReading({ cx: 0, cy: 0, ux: 0, uy: -1, width: 200, height: 30 });
    expect(column.uy).toBeCloseTo(1);
    expect(column.width).toBe(200);
  });

  it("convexHull drops inner and collinear points", () => {
    const hull = convexHull([
      { x: 0, y: 0 },
      { x: 2, y: 0 },
      { x: 4, y: 0 },
      { x: 4, y: 4 },
      { x: 0, y: 4 },
      { x: 2, y: 2 },
    ]);
    expect(hull).toHaveLength(4);
  });

  it("rectContains and rectBounds agree with the corners", () => {
    const rect = { cx: 10, cy: 10, ux: Math.SQRT1_2, uy: Math.SQRT1_2, width: 8, height: 2 };
    expect(rectContains(rect, 10, 10)).toBe(true);
    expect(rectContains(rect, 14, 6)).toBe(false);
    const b = rectBounds(rect);
    for (const p of rectCorners(rect)) {
      expect(p.x).toBeGreaterThanOrEqual(b.x1 - 1e-9);
      expect(p.y).toBeLessThanOrEqual(b.y2 + 1e-9);
    }
  });
});
