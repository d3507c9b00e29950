import { describe, expect, it } from "vitest";
import { resizeRegionBicubicSync } from "../../src/model/bicubic.js";
import { pixelRect } from "../../src/tools/geometry.js";
import { ZOOM_RESIZE, zoomedSize, zoomTool } from "../../src/tools/zoom.js";
import { photoLike } from "./images.js";
import { callTool, contextWithImage } from "./tool-context.js";

/**
 * Issue 10: a zoom whose crop is over the 12.8 MP budget is shrunk, and in JavaScript that cost seconds of CPU
 * (a near-full box of an 8192² photo: ~3 s) taken from every small call on the server. It is libvips' now;
 * enlargements stay Pillow's bit for bit.
 */
function meanAbsDelta(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length / 255;
}

describe("image_zoom_in_tool over the pixel budget", () => {
  it("shrinks a crop over 12.8 MP with libvips, within 3e-3 of Pillow's bicubic on average", async () => {
    const image = photoLike(3900, 3500);
    const { context, original } = await contextWithImage(image);
    const result = await callTool(zoomTool, { image: original.id, bbox_2d: [0, 0, 1000, 1000] }, context);
    const rect = pixelRect({ x1: 0, y1: 0, x2: 3900, y2: 3500 }, original);
    const size = zoomedSize(rect.height, rect.width);
    expect(size.width * size.height).toBeLessThanOrEqual(ZOOM_RESIZE.maxPixels);
    expect(size.width).toBeLessThan(rect.width);
    const zoomed = context.store.pixels(result.structured.image.id);
    expect([zoomed.width, zoomed.height]).toEqual([size.width, size.height]);
    const exact = resizeRegionBicubicSync(context.store.pixels(original.id), rect, size.width, size.height);
    expect(meanAbsDelta(zoomed.data, exact.data)).toBeLessThan(3e-3);
  });

  it("keeps an enlargement (a small box) Pillow's bit for bit", async () => {
    const image = photoLike(600, 400);
    const { context, original } = await contextWithImage(image);
    const result = await callTool(zoomTool, { image: original.id, bbox_2d: [100, 200, 300, 450] }, context);
    const rect = result.structured.region.originalPixels;
    const region = { left: rect[0]!, top: rect[1]!, width: rect[2]! - rect[0]!, height: rect[3]! - rect[1]! };
    const zoomed = context.store.pixels(result.structured.image.id);
    expect(zoomed.width).toBeGreaterThan(region.width);
    const exact = resizeRegionBicubicSync(context.store.pixels(original.id), region, zoomed.width, zoomed.height);
    expect(Buffer.from(zoomed.data).equals(Buffer.from(exact.data))).toBe(true);
  });
});
