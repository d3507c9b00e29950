import { describe, expect, it } from "vitest";
import { resizeBicubicSync, resizeRegionBicubicSync } from "../../src/model/bicubic.js";
import { cropPixels } from "../../src/tools/store/raw-crop.js";
import { gradient } from "../tools/images.js";

/**
 * Issue 10, soak bench: a zoom copied its crop before resizing it (190 MB for a near-full box of an 8192²
 * photo), memory the resize thread then held until its next garbage collection. Resizing the rectangle in
 * place must give exactly what crop-then-resize gave.
 */
function noisy(width: number, height: number) {
  const image = gradient(width, height);
  for (let i = 0; i < image.data.length; i++) image.data[i] = (image.data[i]! * 7 + ((i * 2654435761) >>> 27)) & 255;
  return image;
}

describe("resizeRegionBicubicSync", () => {
  const image = noisy(97, 61);
  const cases: Array<[{ left: number; top: number; width: number; height: number }, number, number]> = [
    [{ left: 10, top: 5, width: 40, height: 30 }, 128, 96], // upscale both
    [{ left: 0, top: 0, width: 97, height: 61 }, 50, 20], // shrink the whole image
    [{ left: 3, top: 7, width: 33, height: 21 }, 33, 64], // vertical pass only
    [{ left: 60, top: 40, width: 37, height: 21 }, 80, 21], // horizontal pass only
    [{ left: 1, top: 2, width: 9, height: 9 }, 9, 9], // no pass: a copy of the rectangle
  ];
  for (const [region, width, height] of cases) {
    it(`equals crop then resize for ${JSON.stringify(region)} → ${width}×${height}`, () => {
      const expected = resizeBicubicSync(cropPixels(image, region), width, height);
      const actual = resizeRegionBicubicSync(image, region, width, height);
      expect([actual.width, actual.height]).toEqual([width, height]);
      expect(Buffer.from(actual.data).equals(Buffer.from(expected.data))).toBe(true);
      expect(actual.data).not.toBe(image.data);
    });
  }

  it("refuses a region outside the image", () => {
    expect(() => resizeRegionBicubicSync(image, { left: 90, top: 0, width: 10, height: 10 }, 20, 20)).toThrow(
      /inside the image/,
    );
  });
});
