import { readFileSync } from "node:fs";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import type { RawImage } from "../../../src/model/vision.js";
import { createToolContext, type OcrFunction } from "../../../src/tools/context.js";
import { cropTransform } from "../../../src/tools/geometry.js";
import { closeDefaultOcrEngine, ocrTool } from "../../../src/tools/ocr/ocr-tool.js";
import type { OcrResult } from "../../../src/tools/ocr/types.js";
import { ImageStore } from "../../../src/tools/store/image-store.js";
import { dataRoot, sharedDataPresent } from "./ocr-truth.js";

/**
 * The tool's own work is choosing the pixels (whole image or a region) and mapping the engine's boxes back:
 * to the image the call named (0–1000 and pixels) and through the store's lineage to the original. A
 * scripted OCR function checks that arithmetic exactly; one call with the real engine checks the wiring.
 */
const hasData = sharedDataPresent();
if (!hasData) console.warn(`[ocr] ${dataRoot} is absent: skipping the ocr tool test that reads a real photo.`);

afterAll(async () => {
  await closeDefaultOcrEngine();
});

async function grey(width: number, height: number): Promise<Uint8Array> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 200, b: 200 } } })
    .png()
    .toBuffer();
}

/** Always reads one line "HELLO WORLD" at (10,20)-(50,30) of whatever it is given, and records the sizes. */
function scriptedOcr(seen: RawImage[], confidence = 0.9, scripts: (string | undefined)[] = []): OcrFunction {
  return async (image, _signal, options) => {
    seen.push(image);
    scripts.push(options?.script);
    const result: OcrResult = {
      width: image.width,
      height: image.height,
      lines: [
        {
          text: "HELLO WORLD",
          confidence,
          box: { x1: 10, y1: 20, x2: 50, y2: 30 },
          boxRel1000: [0, 0, 0, 0],
          engine: "ppocr",
          script: "latin",
          words: [
            { text: "HELLO", confidence, box: { x1: 10, y1: 20, x2: 28, y2: 30 }, boxRel1000: [0, 0, 0, 0] },
            { text: "WORLD", confidence, box: { x1: 32, y1: 20, x2: 50, y2: 30 }, boxRel1000: [0, 0, 0, 0] },
          ],
        },
      ],
    };
    return result;
  };
}

describe("ocrTool", () => {
  it("passes the script option to OCR (auto by default) and says which recogniser read each line", async () => {
    const store = new ImageStore();
    const original = await store.ingest(await grey(100, 50));
    const scripts: (string | undefined)[] = [];
    const context = createToolContext({ store, ocr: scriptedOcr([], 0.9, scripts) });
    const first = await ocrTool.run(ocrTool.inputSchema.parse({ image: original.id }), context, {});
    await ocrTool.run(ocrTool.inputSchema.parse({ image: original.id, script: "chinese" }), context, {});
    expect(scripts).toEqual(["auto", "chinese"]);
    expect(first.structured.lines[0]!.read_by).toBe("PP-OCRv4, Latin characters");
    expect(ocrTool.inputSchema.safeParse({ image: original.id, script: "klingon" }).success).toBe(false);
  });

  it("reads only the region and reports boxes on the named image, in 0-1000 and pixels", async () => {
    const store = new ImageStore();
    const original = await store.ingest(await grey(400, 200));
    const seen: RawImage[] = [];
    const context = createToolContext({ store, ocr: scriptedOcr(seen) });
    const input = ocrTool.inputSchema.parse({ image: original.id, bbox_2d: [500, 500, 1000, 1000], words: true });
    const { structured, images, summary } = await ocrTool.run(input, context, {});
    expect(seen.map((s) => [s.width, s.height])).toEqual([[200, 100]]);
    expect(images).toEqual([]);
    expect(structured.region?.pixels).toEqual([200, 100, 400, 200]);
    const line = structured.lines[0];
    expect(line.pixels).toEqual([210, 120, 250, 130]);
    expect(line.bbox_2d).toEqual([525, 600, 625, 650]);
    expect(line.originalPixels).toEqual([210, 120, 250, 130]);
    expect(line.words?.map((w) => [w.text, ...w.pixels])).toEqual([
      ["HELLO", 210, 120, 228, 130],
      ["WORLD", 232, 120, 250, 130],
    ]);
    expect(structured.text).toBe("HELLO WORLD");
    expect(summary).toContain("HELLO WORLD");
    expect(ocrTool.outputSchema.parse(structured)).toEqual(structured);
  });

  it("maps boxes on a zoomed crop back to the original's pixels through the store's lineage", async () => {
    const store = new ImageStore();
    const original = await store.ingest(await grey(400, 200));
    // A 2x zoom of the region at (100, 50) size 200x100.
    const zoomPixels = { width: 400, height: 200, data: new Uint8Array(400 * 200 * 3).fill(128) };
    const zoom = store.derive(original.id, zoomPixels, {
      operation: "zoom",
      toParent: cropTransform({ left: 100, top: 50, width: 200, height: 100 }, { width: 400, height: 200 }),
    });
    const context = createToolContext({ store, ocr: scriptedOcr([]) });
    const { structured } = await ocrTool.run(ocrTool.inputSchema.parse({ image: zoom.id }), context, {});
    const line = structured.lines[0];
    expect(line.pixels).toEqual([10, 20, 50, 30]);
    expect(line.originalPixels).toEqual([105, 60, 125, 65]);
    expect(line.words).toBeUndefined();
    expect(structured.source.originalId).toBe(original.id);
  });

  it("leaves out lines under min_confidence and says when nothing was found", async () => {
    const store = new ImageStore();
    const original = await store.ingest(await grey(100, 100));
    const context = createToolContext({ store, ocr: scriptedOcr([], 0.4) });
    const { structured, summary } = await ocrTool.run(
      ocrTool.inputSchema.parse({ image: original.id, min_confidence: 0.5 }),
      context,
      {},
    );
    expect(structured.lines).toEqual([]);
    expect(summary).toBe(`No text found in ${original.id}.`);
  });

  it("refuses a box outside 0-1000 with INVALID_ARGUMENT", async () => {
    const store = new ImageStore();
    const original = await store.ingest(await grey(100, 100));
    const context = createToolContext({ store, ocr: scriptedOcr([]) });
    await expect(
      ocrTool.run(ocrTool.inputSchema.parse({ image: original.id, bbox_2d: [0, 0, 1500, 500] }), context, {}),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it.skipIf(!hasData)("reads a real poster with the default engine, boxes inside the region asked for", async () => {
    const store = new ImageStore();
    const photo = await store.ingest(readFileSync(`${dataRoot}ocr/icdar15-img8-why-pay-for-nothing.jpg`));
    const context = createToolContext({ store });
    // The poster text sits around x 568-728, y 345-420 of 1280x720.
    const bbox = [400, 420, 620, 640];
    const { structured } = await ocrTool.run(
      ocrTool.inputSchema.parse({ image: photo.id, bbox_2d: bbox }),
      context,
      {},
    );
    expect(structured.text).toContain("NOTHING");
    const region = structured.region!.pixels;
    for (const line of structured.lines) {
      expect(line.originalPixels[0]).toBeGreaterThanOrEqual(region[0]);
      expect(line.originalPixels[1]).toBeGreaterThanOrEqual(region[1]);
      expect(line.originalPixels[2]).toBeLessThanOrEqual(region[2]);
      expect(line.originalPixels[3]).toBeLessThanOrEqual(region[3]);
    }
    const nothing = structured.lines.find((l) => l.text.includes("NOTHING"))!;
    // ICDAR's box for "NOTHING?": x 598-728, y 381-420.
    const cx = (nothing.originalPixels[0] + nothing.originalPixels[2]) / 2;
    const cy = (nothing.originalPixels[1] + nothing.originalPixels[3]) / 2;
    expect(cx).toBeGreaterThan(598);
    expect(cx).toBeLessThan(728);
    expect(cy).toBeGreaterThan(381);
    expect(cy).toBeLessThan(420);
  });
});
