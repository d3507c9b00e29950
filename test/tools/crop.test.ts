import { describe, expect, it } from "vitest";
import { cropTool } from "../../src/tools/crop.js";
import { applyToBox } from "../../src/tools/geometry.js";
import { gradient, pixelAt } from "./images.js";
import { codeOf, contextWithImage, callTool } from "./tool-context.js";

describe("image_crop", () => {
  it("cuts the exact pixels at their own resolution, in pixel space", async () => {
    const { context, original } = await contextWithImage(gradient(300, 200));
    const result = await callTool(
      cropTool,
      { bbox_2d: [50, 20, 130, 70], space: "pixel", image: original.id },
      context,
    );
    const crop = context.store.pixels(result.images[0]!);
    expect([crop.width, crop.height]).toEqual([80, 50]);
    // Crop pixel (0, 0) is source (50, 20); (79, 49) is (129, 69).
    expect(pixelAt(crop, 0, 0)).toEqual([50, 20, 70]);
    expect(pixelAt(crop, 79, 49)).toEqual([129, 69, 198]);
    expect(result.structured.region.originalPixels).toEqual([50, 20, 130, 70]);
  });

  it("reads 0-1000 by default and chains: a crop of a crop maps to the original", async () => {
    const { context, original } = await contextWithImage(gradient(1000, 500));
    const first = await callTool(cropTool, { bbox_2d: [100, 100, 600, 900], image: original.id }, context);
    // first: x 100..600, y 50..450 (500×400); second: its right half, bottom quarter.
    const second = await callTool(cropTool, { bbox_2d: [500, 750, 1000, 1000], image: first.images[0]! }, context);
    expect(second.structured.region.originalPixels).toEqual([350, 350, 600, 450]);
    const image = context.store.get(second.images[0]!);
    expect(applyToBox(image.toOriginal, { x1: 0, y1: 0, x2: image.width, y2: image.height })).toEqual({
      x1: 350,
      y1: 350,
      x2: 600,
      y2: 450,
    });
    expect(pixelAt(context.store.pixels(image.id), 0, 0)).toEqual([350 % 256, 350 % 256, 700 % 256]);
  });

  it("refuses an inverted box", async () => {
    const { context, original } = await contextWithImage(gradient(100, 100));
    expect(await codeOf(callTool(cropTool, { bbox_2d: [50, 50, 10, 90], image: original.id }, context))).toBe(
      "INVALID_ARGUMENT",
    );
  });
});
