import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isSquintError } from "../../src/errors.js";
import {
  type Affine,
  applyToBox,
  applyToPoint,
  type Box,
  compose,
  composeAll,
  cropTransform,
  fromPixelBox,
  growSmallBox,
  identity,
  invert,
  parseBox,
  parsePoint,
  pixelRect,
  rotatedCanvas,
  rotation,
  toPixelBox,
  toRel1000Tuple,
} from "../../src/tools/geometry.js";

function expectBoxClose(actual: Box, expected: Box, tolerance = 1e-6): void {
  for (const key of ["x1", "y1", "x2", "y2"] as const) {
    expect(Math.abs(actual[key] - expected[key]), `${key}: ${actual[key]} vs ${expected[key]}`).toBeLessThanOrEqual(
      tolerance,
    );
  }
}

function squintCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isSquintError(error) ? error.code : `not a SquintError: ${String(error)}`;
  }
  return undefined;
}

const hopInn = { width: 2460, height: 1612 };

describe("coordinate spaces", () => {
  it("maps Qwen3-VL's 0-1000 box to pixels as x/1000·W (the hop-inn sign from the cookbook)", () => {
    // MANIFEST.json: bbox_2d [574, 301, 660, 468] on 2460×1612 is x1 1412.04, y1 485.21, x2 1623.6, y2 754.42.
    const box = toPixelBox({ x1: 574, y1: 301, x2: 660, y2: 468 }, "rel1000", hopInn);
    expectBoxClose(box, { x1: 1412.04, y1: 485.212, x2: 1623.6, y2: 754.416 }, 1e-9);
    expect(toRel1000Tuple(box, hopInn)).toEqual([574, 301, 660, 468]);
  });

  it("reads the GUI cookbook's 999 grid and the unit square", () => {
    expectBoxClose(toPixelBox({ x1: 0, y1: 0, x2: 999, y2: 999 }, "rel999", { width: 1080, height: 2400 }), {
      x1: 0,
      y1: 0,
      x2: 1080,
      y2: 2400,
    });
    expectBoxClose(toPixelBox({ x1: 0.25, y1: 0.5, x2: 0.75, y2: 1 }, "unit", { width: 400, height: 200 }), {
      x1: 100,
      y1: 100,
      x2: 300,
      y2: 200,
    });
  });

  it("round-trips any box through any space", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("pixel", "rel1000", "rel999", "unit" as const),
        fc.integer({ min: 1, max: 8000 }),
        fc.integer({ min: 1, max: 8000 }),
        fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
        (space, width, height, [u, v]) => {
          const size = { width, height };
          const box = {
            x1: u * width * 0.5,
            y1: v * height * 0.5,
            x2: width * (0.5 + u / 2),
            y2: height * (0.5 + v / 2),
          };
          expectBoxClose(toPixelBox(fromPixelBox(box, space, size), space, size), box, 1e-6);
        },
      ),
    );
  });
});

const affineArb = fc
  .record({
    a: fc.double({ min: -4, max: 4, noNaN: true }),
    b: fc.double({ min: -4, max: 4, noNaN: true }),
    c: fc.double({ min: -1000, max: 1000, noNaN: true }),
    d: fc.double({ min: -4, max: 4, noNaN: true }),
    e: fc.double({ min: -4, max: 4, noNaN: true }),
    f: fc.double({ min: -1000, max: 1000, noNaN: true }),
  })
  .filter((t) => Math.abs(t.a * t.e - t.b * t.d) > 0.05);

const pointArb = fc.record({
  x: fc.double({ min: -5000, max: 5000, noNaN: true }),
  y: fc.double({ min: -5000, max: 5000, noNaN: true }),
});

describe("affine transforms", () => {
  it("compose applies the first transform, then the second", () => {
    fc.assert(
      fc.property(affineArb, affineArb, pointArb, (first, second, p) => {
        const viaCompose = applyToPoint(compose(first, second), p);
        const stepwise = applyToPoint(second, applyToPoint(first, p));
        expect(viaCompose.x).toBeCloseTo(stepwise.x, 6);
        expect(viaCompose.y).toBeCloseTo(stepwise.y, 6);
      }),
    );
  });

  it("invert undoes a transform", () => {
    fc.assert(
      fc.property(affineArb, pointArb, (t, p) => {
        const back = applyToPoint(invert(t), applyToPoint(t, p));
        expect(Math.abs(back.x - p.x)).toBeLessThan(1e-5 * (1 + Math.abs(p.x)));
        expect(Math.abs(back.y - p.y)).toBeLessThan(1e-5 * (1 + Math.abs(p.y)));
      }),
    );
  });

  it("refuses to invert a transform that collapses the plane", () => {
    expect(squintCode(() => invert({ a: 1, b: 2, c: 0, d: 2, e: 4, f: 0 }))).toBe("INVALID_ARGUMENT");
  });

  it("rotates clockwise on screen (y down) with exact quarter turns", () => {
    expect(applyToPoint(rotation(90), { x: 1, y: 0 })).toEqual({ x: 0, y: 1 });
    expect(applyToPoint(rotation(-90), { x: 1, y: 0 })).toEqual({ x: 0, y: -1 });
  });

  it("maps a box down a chain of crops and zooms and back to the same box", () => {
    // Each step: crop a sub-rectangle of the current image and scale it to a new size (crop = scale 1).
    const stepArb = fc.record({
      fx: fc.double({ min: 0, max: 0.6, noNaN: true }),
      fy: fc.double({ min: 0, max: 0.6, noNaN: true }),
      fw: fc.double({ min: 0.2, max: 0.4, noNaN: true }),
      fh: fc.double({ min: 0.2, max: 0.4, noNaN: true }),
      zoom: fc.double({ min: 0.5, max: 8, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 64, max: 6000 }),
        fc.integer({ min: 64, max: 6000 }),
        fc.array(stepArb, { minLength: 1, maxLength: 5 }),
        fc.tuple(
          fc.double({ min: 0, max: 0.5, noNaN: true }),
          fc.double({ min: 0, max: 0.5, noNaN: true }),
          fc.double({ min: 0.5, max: 1, noNaN: true }),
          fc.double({ min: 0.5, max: 1, noNaN: true }),
        ),
        (width, height, steps, [u1, v1, u2, v2]) => {
          let size = { width, height };
          const chain: Affine[] = [];
          for (const step of steps) {
            const region = {
              left: step.fx * size.width,
              top: step.fy * size.height,
              width: step.fw * size.width,
              height: step.fh * size.height,
            };
            const output = { width: region.width * step.zoom, height: region.height * step.zoom };
            chain.unshift(cropTransform(region, output)); // child→parent, deepest first
            size = output;
          }
          const toOriginal = composeAll(chain);
          // A box on the deepest image, given in rel1000 as the model would.
          const rel = { x1: u1 * 1000, y1: v1 * 1000, x2: u2 * 1000, y2: v2 * 1000 };
          const onDeepest = toPixelBox(rel, "rel1000", size);
          const onOriginal = applyToBox(toOriginal, onDeepest);
          const back = fromPixelBox(applyToBox(invert(toOriginal), onOriginal), "rel1000", size);
          expectBoxClose(back, rel, 1e-6);
        },
      ),
    );
  });
});

describe("rotated canvas", () => {
  it("swaps sides on a quarter turn and maps corners exactly", () => {
    const { size, toSource } = rotatedCanvas({ width: 200, height: 100 }, 90);
    expect(size).toEqual({ width: 100, height: 200 });
    // Clockwise: the source's top-left corner ends at the canvas's top-right.
    const p = applyToPoint(toSource, { x: 100, y: 0 });
    expect(p.x).toBeCloseTo(0, 9);
    expect(p.y).toBeCloseTo(0, 9);
  });

  it("keeps the whole image on the canvas at any angle", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.double({ min: -720, max: 720, noNaN: true }),
        (w, h, angle) => {
          const { size, toSource } = rotatedCanvas({ width: w, height: h }, angle);
          const sourceOnCanvas = applyToBox(invert(toSource), { x1: 0, y1: 0, x2: w, y2: h });
          // Like sharp, the canvas is the hull rounded in size and in position: each rounding can clip up to half a
          // pixel, and the half-pixel centre shift adds another half (a 1x1 image at -30° reaches 1.18 px past).
          const slack = 1.5;
          expect(sourceOnCanvas.x1).toBeGreaterThan(-slack);
          expect(sourceOnCanvas.y1).toBeGreaterThan(-slack);
          expect(sourceOnCanvas.x2).toBeLessThan(size.width + slack);
          expect(sourceOnCanvas.y2).toBeLessThan(size.height + slack);
        },
      ),
    );
  });
});

describe("parseBox", () => {
  const size = { width: 2000, height: 1000 };

  it("returns pixels on the image", () => {
    expectBoxClose(parseBox([100, 200, 300, 400], "rel1000", size), { x1: 200, y1: 200, x2: 600, y2: 400 });
    expectBoxClose(parseBox([10, 20, 30, 40], "pixel", size), { x1: 10, y1: 20, x2: 30, y2: 40 });
  });

  it("refuses inverted, empty, out-of-range, NaN and short boxes with INVALID_ARGUMENT", () => {
    expect(squintCode(() => parseBox([300, 200, 100, 400], "rel1000", size))).toBe("INVALID_ARGUMENT");
    expect(squintCode(() => parseBox([100, 200, 100, 400], "rel1000", size))).toBe("INVALID_ARGUMENT");
    expect(squintCode(() => parseBox([100, 200, 1200, 400], "rel1000", size))).toBe("INVALID_ARGUMENT");
    expect(squintCode(() => parseBox([-5, 200, 300, 400], "rel1000", size))).toBe("INVALID_ARGUMENT");
    expect(squintCode(() => parseBox([Number.NaN, 200, 300, 400], "rel1000", size))).toBe("INVALID_ARGUMENT");
    expect(squintCode(() => parseBox([0, 0, Number.POSITIVE_INFINITY, 10], "pixel", size))).toBe("INVALID_ARGUMENT");
    expect(squintCode(() => parseBox([1, 2, 3], "rel1000", size))).toBe("INVALID_ARGUMENT");
    expect(squintCode(() => parseBox([0, 0, 2001, 10], "pixel", size))).toBe("INVALID_ARGUMENT");
  });

  it("tells the caller what a valid box looks like", () => {
    try {
      parseBox([300, 200, 100, 400], "rel1000", size);
      expect.unreachable();
    } catch (error) {
      expect(isSquintError(error) && error.hint).toMatch(/top-left/);
    }
  });

  it("accepts a model's rounding past the edge (1000.4) and clamps it", () => {
    expectBoxClose(parseBox([0, 0, 1000.4, 1000], "rel1000", size), { x1: 0, y1: 0, x2: 2000, y2: 1000 });
  });

  it("parsePoint refuses NaN and reads 0-1000", () => {
    expect(parsePoint([500, 250], "rel1000", size)).toEqual({ x: 1000, y: 250 });
    expect(squintCode(() => parsePoint([Number.NaN, 1], "rel1000", size))).toBe("INVALID_ARGUMENT");
  });
});

describe("Qwen-Agent zoom box rules", () => {
  const size = { width: 1000, height: 1000 };

  it("grows a box under 32 px about its centre (half-sides ceiled, edges floored/ceiled)", () => {
    // centre 100.5: ratio 3.2, half 16 → [84.5, 116.5] → floor/ceil → [84, 117]: 33 px > 32, kept.
    const { box, grown } = growSmallBox({ x1: 95.5, y1: 95.5, x2: 105.5, y2: 105.5 }, size);
    expect(grown).toBe(true);
    expect(box).toEqual({ x1: 84, y1: 84, x2: 117, y2: 117 });
  });

  it("keeps Qwen-Agent's quirk: a grown box of exactly 32 px is not > 32, so the small box stays", () => {
    const { box, grown } = growSmallBox({ x1: 95, y1: 95, x2: 105, y2: 105 }, size);
    expect(grown).toBe(false);
    expect(box).toEqual({ x1: 95, y1: 95, x2: 105, y2: 105 });
  });

  it("leaves boxes of 32 px and more alone, clamped to the image", () => {
    expect(growSmallBox({ x1: 10, y1: 10, x2: 50, y2: 42 }, size)).toEqual({
      box: { x1: 10, y1: 10, x2: 50, y2: 42 },
      grown: false,
    });
  });

  it("rounds crop edges half to even, like PIL's Image.crop", () => {
    expect(pixelRect({ x1: 0.5, y1: 1.5, x2: 2.5, y2: 3.5 }, size)).toEqual({ left: 0, top: 2, width: 2, height: 2 });
    expect(pixelRect({ x1: 1412.04, y1: 485.212, x2: 1623.6, y2: 754.416 }, hopInn)).toEqual({
      left: 1412,
      top: 485,
      width: 212,
      height: 269,
    });
  });

  it("identity is the neutral element", () => {
    const t = cropTransform({ left: 3, top: 4, width: 10, height: 20 }, { width: 40, height: 80 });
    expect(compose(identity, t)).toEqual(t);
    expect(compose(t, identity)).toEqual(t);
  });
});
