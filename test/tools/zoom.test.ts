import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { isSquintError } from "../../src/errors.js";
import { smartResize } from "../../src/model/vision.js";
import { createToolContext, type ToolContext } from "../../src/tools/context.js";
import { applyToBox, fromPixelBox, invert } from "../../src/tools/geometry.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { ZOOM_RESIZE, zoomedSize, zoomTool, zoomToolSpec } from "../../src/tools/zoom.js";
import { callTool } from "./tool-context.js";
import {
  brightCentroid,
  encode,
  gradient,
  hasSharedData,
  hopInnPath,
  marker,
  noteMissingShared,
  sharedData,
} from "./images.js";

noteMissingShared();

async function contextWith(bytes: Buffer): Promise<{ context: ToolContext; id: string }> {
  const store = new ImageStore();
  const original = await store.ingest(bytes, { source: "test" });
  return { context: createToolContext({ store }), id: original.id };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isSquintError(error) ? error.code : `not a SquintError: ${String(error)}`;
  }
  return undefined;
}

describe("image_zoom_in_tool", () => {
  it("offers the model exactly Qwen-Agent's schema", () => {
    expect(zoomToolSpec.function.name).toBe("image_zoom_in_tool");
    expect(zoomToolSpec.function.parameters.required).toEqual(["bbox_2d", "label", "img_idx"]);
  });

  it.skipIf(!hasSharedData)("zooms on the hop-inn sign as the cookbook's call did", async () => {
    const store = new ImageStore();
    const context = createToolContext({ store, policy: defaultSourcePolicy({ allowedDirs: [sharedData] }) });
    const result = await callTool(
      zoomTool,
      { bbox_2d: [574, 301, 660, 468], label: "main hanging sign for Hop Inn", image: hopInnPath },
      context,
    );
    // 1412.04..1623.6 × 485.21..754.42 → PIL rounds to [1412, 485, 1624, 754] → 212×269 px.
    expect(result.structured.region.originalPixels).toEqual([1412, 485, 1624, 754]);
    expect(result.structured.region.bbox_2d).toEqual([574, 301, 660, 468]);
    const expected = smartResize(269, 212, ZOOM_RESIZE);
    expect(result.structured.image).toMatchObject({ width: expected.width, height: expected.height });
    expect(expected.width * expected.height).toBeGreaterThanOrEqual(ZOOM_RESIZE.minPixels);
    expect(result.structured.grown).toBe(false);
    expect(result.images).toEqual([result.structured.image.id]);
    const zoomed = store.get(result.images[0]!);
    expect(zoomed).toMatchObject({
      operation: "zoom",
      label: "main hanging sign for Hop Inn",
      parentId: result.structured.source.id,
    });
    expect(result.summary).toContain("Hop Inn");
    expect(JSON.stringify(result.structured)).not.toMatch(/base64|data:/);
  });

  it("maps a chained zoom (zoom of a zoom) back to the original within 1 px", async () => {
    // A 6×6 white square at (1203, 801) on a 2000×1500 black image.
    const square = { x1: 1203, y1: 801, x2: 1209, y2: 807 };
    const { context, id } = await contextWith(await encode(marker(2000, 1500, 1203, 801, 6)));
    // First zoom: a generous region around the square (0-1000 on the original).
    const first = await callTool(zoomTool, { bbox_2d: [550, 480, 680, 620], image: id }, context);
    const firstImage = context.store.get(first.images[0]!);
    // Second zoom, chosen on the first zoom's pixels: the square's box there, widened to 40 px.
    const onFirst = applyToBox(invert(firstImage.toOriginal), { x1: 1186, y1: 784, x2: 1226, y2: 824 });
    const rel = fromPixelBox(onFirst, "rel1000", firstImage);
    const second = await callTool(
      zoomTool,
      { bbox_2d: [rel.x1, rel.y1, rel.x2, rel.y2], label: "square", image: firstImage.id },
      context,
    );
    const secondImage = context.store.get(second.images[0]!);
    expect(secondImage.parentId).toBe(firstImage.id);
    expect(secondImage.originalId).toBe(id);
    // The region the second zoom took, said in original pixels, is the box asked for (within 1 px).
    const [x1, y1, x2, y2] = second.structured.region.originalPixels;
    expect(Math.abs(x1 - 1186)).toBeLessThanOrEqual(1);
    expect(Math.abs(y1 - 784)).toBeLessThanOrEqual(1);
    expect(Math.abs(x2 - 1226)).toBeLessThanOrEqual(1);
    expect(Math.abs(y2 - 824)).toBeLessThanOrEqual(1);
    // And the pixels agree: the square seen in the twice-zoomed image maps back onto the real square.
    const seen = brightCentroid(context.store.pixels(secondImage.id), 128);
    const back = applyToBox(secondImage.toOriginal, { x1: seen.x, y1: seen.y, x2: seen.x, y2: seen.y });
    expect(Math.abs(back.x1 - (square.x1 + square.x2) / 2)).toBeLessThanOrEqual(1);
    expect(Math.abs(back.y1 - (square.y1 + square.y2) / 2)).toBeLessThanOrEqual(1);
  });

  it("grows a box under 32 px about its centre", async () => {
    const { context, id } = await contextWith(await encode(gradient(1000, 1000)));
    const result = await callTool(zoomTool, { bbox_2d: [500.5, 500.5, 510.5, 510.5], image: id }, context);
    expect(result.structured.grown).toBe(true);
    const [x1, y1, x2, y2] = result.structured.region.pixels;
    expect(x2 - x1).toBe(33);
    expect(y2 - y1).toBe(33);
    expect(result.structured.image.width * result.structured.image.height).toBeGreaterThanOrEqual(
      ZOOM_RESIZE.minPixels,
    );
  });

  it("zooms a box that stays under 32 px as Qwen-Agent does (10×10 px → 512×512)", async () => {
    const { context, id } = await contextWith(await encode(gradient(2000, 2000)));
    // 1000..1010 px: centre 1005, grown box exactly 32 px, which Qwen-Agent does not keep (not > 32).
    const result = await callTool(zoomTool, { bbox_2d: [500, 500, 505, 505], image: id }, context);
    expect(result.structured.grown).toBe(false);
    expect(result.structured.region.pixels).toEqual([1000, 1000, 1010, 1010]);
    // qwen-vl-utils: max(32, round(10/32)·32) = 32 per side, 1024 px < 262144 → beta 51.2 → ceil(512/32)·32.
    expect(result.structured.image).toMatchObject({ width: 512, height: 512 });
    expect(zoomedSize(10, 10)).toEqual({ height: 512, width: 512 });
  });

  it("sizes crops of 32 px and more exactly as smartResize does", () => {
    for (const [h, w] of [
      [32, 32],
      [269, 212],
      [600, 800],
      [3000, 4000],
      [33, 4000],
    ] as const) {
      expect(zoomedSize(h, w)).toEqual(smartResize(h, w, ZOOM_RESIZE));
    }
  });

  it("crops the right pixels: a zoom of the gradient starts at the box's corner", async () => {
    const { context, id } = await contextWith(await encode(gradient(512, 512)));
    // [250, 500, 750, 1000] of 512 px → x 128..384, y 256..512; zoomed 256×256 → 512×512.
    const result = await callTool(zoomTool, { bbox_2d: [250, 500, 750, 1000], image: id }, context);
    expect(result.structured.region.pixels).toEqual([128, 256, 384, 512]);
    expect(result.structured.scale).toBe(2);
    const zoomed = context.store.pixels(result.images[0]!);
    // Interior pixel (200, 100) of the zoom shows source pixel (128 + 100, 256 + 50) = (228, 306): r = 228, g = 306 mod 256.
    const i = (100 * zoomed.width + 200) * 3;
    expect(Math.abs(zoomed.data[i]! - 228)).toBeLessThanOrEqual(2);
    expect(Math.abs(zoomed.data[i + 1]! - (306 % 256))).toBeLessThanOrEqual(2);
  });

  it("resolves img_idx through the caller's conversation", async () => {
    const store = new ImageStore();
    const a = await store.ingest(await encode(gradient(300, 300)));
    const b = await store.ingest(await encode(gradient(400, 200)));
    const conversation = [a, b];
    const context = createToolContext({
      store,
      imageByIndex: (index) => {
        const image = conversation[index];
        if (!image) throw new Error(`no image ${index}`);
        return image;
      },
    });
    const result = await callTool(zoomTool, { bbox_2d: [0, 0, 500, 500], label: "corner", img_idx: 1 }, context);
    expect(result.structured.source.id).toBe(b.id);
    expect(result.structured.region.pixels).toEqual([0, 0, 200, 100]);
  });

  it("accepts a data URI as the image", async () => {
    const store = new ImageStore();
    const png = await encode(gradient(64, 64));
    const result = await callTool(
      zoomTool,
      { bbox_2d: [0, 0, 1000, 1000], image: `data:image/png;base64,${png.toString("base64")}` },
      createToolContext({ store }),
    );
    expect(store.get(result.structured.source.id)).toMatchObject({ width: 64, format: "PNG" });
  });

  it("refuses bad boxes and missing images with SquintErrors", async () => {
    const { context, id } = await contextWith(await encode(gradient(200, 200)));
    expect(await codeOf(callTool(zoomTool, { bbox_2d: [600, 100, 400, 300], image: id }, context))).toBe(
      "INVALID_ARGUMENT",
    );
    expect(await codeOf(callTool(zoomTool, { bbox_2d: [100, 100, 1400, 300], image: id }, context))).toBe(
      "INVALID_ARGUMENT",
    );
    expect(await codeOf(zoomTool.run({ bbox_2d: [Number.NaN, 100, 400, 300], image: id }, context, {}))).toBe(
      "INVALID_ARGUMENT",
    );
    expect(await codeOf(callTool(zoomTool, { bbox_2d: [0, 0, 500, 500] }, context))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(callTool(zoomTool, { bbox_2d: [0, 0, 500, 500], img_idx: 0 }, context))).toBe(
      "INVALID_ARGUMENT",
    );
    expect(await codeOf(callTool(zoomTool, { bbox_2d: [0, 0, 500, 500], image: "img-999" }, context))).toBe(
      "NOT_FOUND",
    );
    // The zod schema itself refuses a 3-number box before the tool runs (what MCP hosts hit).
    expect(zoomTool.inputSchema.safeParse({ bbox_2d: [1, 2, 3], image: id }).success).toBe(false);
  });

  it("does not read files outside the allowed directories", async () => {
    const store = new ImageStore();
    const context = createToolContext({ store });
    const path = fs.existsSync(hopInnPath) ? hopInnPath : "/etc/hostname";
    expect(await codeOf(callTool(zoomTool, { bbox_2d: [0, 0, 500, 500], image: path }, context))).toBe(
      "PATH_NOT_ALLOWED",
    );
  });
});
