import { describe, expect, it } from "vitest";
import sharp from "sharp";
import { applyToPoint, invert, rotatedCanvas } from "../../src/tools/geometry.js";
import { rotateTool } from "../../src/tools/rotate.js";
import { brightCentroid, marker } from "./images.js";
import { codeOf, contextWithImage, callTool } from "./tool-context.js";

describe("image_rotate", () => {
  // A 4×4 square at (250, 40) on a 300×160 image: its centre is (252, 42).
  const centre = { x: 252, y: 42 };

  for (const angle of [90, -90, 180, 30, 45, -17, 133, 300.5]) {
    it(`rotates by ${angle}° and the recorded transform maps the square back within 1 px`, async () => {
      const { context, original } = await contextWithImage(marker(300, 160, 250, 40, 4));
      const result = await callTool(rotateTool, { angle, background: "#000000", image: original.id }, context);
      const rotated = context.store.get(result.images[0]!);
      const seen = brightCentroid(context.store.pixels(rotated.id));
      const back = applyToPoint(rotated.toOriginal, seen);
      expect(Math.hypot(back.x - centre.x, back.y - centre.y)).toBeLessThanOrEqual(1);
      // And forwards: where the transform says the square is, it is.
      const predicted = applyToPoint(invert(rotated.toOriginal), centre);
      expect(Math.hypot(predicted.x - seen.x, predicted.y - seen.y)).toBeLessThanOrEqual(1);
    });
  }

  it("grows the canvas to hold the whole image", async () => {
    const { context, original } = await contextWithImage(marker(300, 160, 0, 0, 1));
    const result = await callTool(rotateTool, { angle: 45, image: original.id }, context);
    // (300 + 160)·cos 45° ≈ 325.3
    expect(result.structured.image.width).toBe(325);
    expect(result.structured.image.height).toBe(325);
    const quarter = await callTool(rotateTool, { angle: 90, image: original.id }, context);
    expect([quarter.structured.image.width, quarter.structured.image.height]).toEqual([160, 300]);
  });

  it("predicts sharp's canvas size for many shapes and angles", async () => {
    const mismatches: string[] = [];
    for (const [width, height] of [
      [300, 160],
      [31, 977],
      [123, 45],
      [640, 480],
    ] as const) {
      for (const angle of [1, 12.34, 45, 89.99, 133, 200, 271, 300.5, 359.9, -17]) {
        const { info } = await sharp(new Uint8Array(width * height * 3), { raw: { width, height, channels: 3 } })
          .rotate(angle)
          .raw()
          .toBuffer({ resolveWithObject: true });
        const predicted = rotatedCanvas({ width, height }, angle).size;
        if (predicted.width !== info.width || predicted.height !== info.height) {
          mismatches.push(
            `${width}×${height} @ ${angle}°: ${predicted.width}×${predicted.height} vs ${info.width}×${info.height}`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("refuses an angle that is not a number", async () => {
    const { context, original } = await contextWithImage(marker(10, 10, 0, 0, 1));
    expect(
      await codeOf(rotateTool.run({ angle: Number.NaN, background: "#ffffff", image: original.id }, context, {})),
    ).toBe("INVALID_ARGUMENT");
  });
});
