import fs from "node:fs";
import { describe, expect, it } from "vitest";
import type { RawImage } from "../../src/model/vision.js";
import type { LocateModel, OcrFunction } from "../../src/tools/context.js";
import { groundingPrompt, locateTool, textTarget } from "../../src/tools/locate.js";
import type { OcrLine, OcrResult } from "../../src/tools/ocr/types.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { createToolContext } from "../../src/tools/context.js";
import { hasSharedData, hopInnPath, marker, noteMissingShared } from "./images.js";
import { codeOf, contextWithImage, callTool } from "./tool-context.js";

noteMissingShared();

/** The exact pixel bounds of the white pixels in an image (what a perfect detector would see). */
function whiteBounds(image: RawImage): { x1: number; y1: number; x2: number; y2: number } | undefined {
  let x1 = Number.POSITIVE_INFINITY;
  let y1 = Number.POSITIVE_INFINITY;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (image.data[(y * image.width + x) * 3]! > 128) {
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
  }
  return x2 < 0 ? undefined : { x1, y1, x2, y2 };
}

/**
 * A stand-in for Qwen3-VL that answers like it (0–1000 integers in a ```json fence) about the white square it
 * is shown. Its only error is the 0–1000 grid's rounding, which is coarse on a large image and fine on a crop,
 * so a second look inside a crop measurably sharpens the box.
 */
function squareFinder(calls: { prompt: string; width: number; height: number }[], thinking = false): LocateModel {
  return async (image, prompt) => {
    calls.push({ prompt, width: image.width, height: image.height });
    const bounds = whiteBounds(image);
    const answer = bounds
      ? `\`\`\`json\n[{"bbox_2d": [${Math.round((bounds.x1 / image.width) * 1000)}, ${Math.round((bounds.y1 / image.height) * 1000)}, ${Math.round((bounds.x2 / image.width) * 1000)}, ${Math.round((bounds.y2 / image.height) * 1000)}], "label": "white square"}]\n\`\`\``
      : "There is no white square in this image.";
    return thinking ? `Let me look for it. Maybe {"bbox_2d": [0, 0, 10, 10]}?\n</think>\n\n${answer}` : answer;
  };
}

describe("locate with a model", () => {
  it("prompts as the cookbook does and maps the answer to original pixels", async () => {
    const calls: { prompt: string; width: number; height: number }[] = [];
    const { context, original } = await contextWithImage(marker(800, 600, 200, 300, 120), {
      locateModel: squareFinder(calls),
    });
    const result = await callTool(locateTool, { query: "the white square", image: original.id }, context);
    expect(calls[0]!.prompt).toBe(groundingPrompt("the white square"));
    expect(calls[0]!.prompt).toBe(
      "Detect all the white square in the image and output their bbox coordinates in JSON format.",
    );
    expect(result.structured).toMatchObject({ found: true, method: "model", modelCalls: 1 });
    const match = result.structured.matches[0]!;
    expect(match.box!.originalPixels).toEqual([200, 300, 320, 420]);
    expect(match.center).toEqual([260, 360]);
    expect(match.refined).toBe(false);
  });

  it("looks again inside a crop for a small target on a large image, and gets closer", async () => {
    // A 7×7 square on a 4000×3000 image: 0–1000 rounding alone is up to 2 px off.
    const truth = { x1: 2713, y1: 1502, x2: 2720, y2: 1509 };
    const image = marker(4000, 3000, truth.x1, truth.y1, 7);
    const calls: { prompt: string; width: number; height: number }[] = [];
    const coarseCalls: typeof calls = [];
    const { context, original } = await contextWithImage(image, { locateModel: squareFinder(calls) });
    const deep = await callTool(locateTool, { query: "the white square", image: original.id }, context);
    const coarseContext = createToolContext({ store: context.store, locateModel: squareFinder(coarseCalls) });
    const coarse = await callTool(
      locateTool,
      { query: "the white square", image: original.id, deep: false },
      coarseContext,
    );
    expect(deep.structured.modelCalls).toBe(2);
    expect(calls[1]!.width).toBeLessThan(1000); // the second look saw a crop
    expect(coarse.structured.modelCalls).toBe(1);
    const error = (box: number[]) =>
      Math.max(
        Math.abs(box[0]! - truth.x1),
        Math.abs(box[1]! - truth.y1),
        Math.abs(box[2]! - truth.x2),
        Math.abs(box[3]! - truth.y2),
      );
    const deepMatch = deep.structured.matches[0]!;
    expect(deepMatch.refined).toBe(true);
    expect(error(deepMatch.box!.originalPixels)).toBeLessThanOrEqual(0.5);
    expect(error(coarse.structured.matches[0]!.box!.originalPixels)).toBeGreaterThan(
      error(deepMatch.box!.originalPixels),
    );
    // The crop it looked at went into the store (original + that one crop).
    expect(context.store.stats().images).toBe(2);
  });

  it("reads a Thinking reply's answer only, not boxes it considered while thinking", async () => {
    const { context, original } = await contextWithImage(marker(500, 500, 100, 100, 50), {
      locateModel: squareFinder([], true),
    });
    const result = await callTool(locateTool, { query: "white square", image: original.id, deep: false }, context);
    expect(result.structured.matches).toHaveLength(1);
    expect(result.structured.matches[0]!.box!.originalPixels).toEqual([100, 100, 150, 150]);
  });

  it("says not found rather than inventing a box", async () => {
    const { context, original } = await contextWithImage(marker(300, 300, 0, 0, 0), { locateModel: squareFinder([]) });
    const result = await callTool(locateTool, { query: "the white square", image: original.id }, context);
    expect(result.structured).toMatchObject({ found: false, matches: [] });
    expect(result.summary).toMatch(/not found/);
  });

  it("drops answers that are not boxes on the image", async () => {
    const model: LocateModel = async () =>
      '[{"bbox_2d": [600, 100, 400, 300]}, {"bbox_2d": [1, 2, 3]}, {"point_2d": [500, 250]}]';
    const { context, original } = await contextWithImage(marker(200, 100, 0, 0, 1), { locateModel: model });
    const result = await callTool(locateTool, { query: "the thing", image: original.id }, context);
    expect(result.structured.matches).toHaveLength(1);
    expect(result.structured.matches[0]).toMatchObject({ point: { pixels: [100, 25] }, center: [100, 25] });
  });

  it.skipIf(!hasSharedData)("maps the cookbook's hop-inn sign answer to the photo's pixels", async () => {
    const store = new ImageStore();
    const original = await store.ingest(fs.readFileSync(hopInnPath));
    const calls: string[] = [];
    const model: LocateModel = async (_image, prompt) => {
      calls.push(prompt);
      return '```json\n[{"bbox_2d": [574, 301, 660, 468], "label": "Hop Inn sign"}]\n```';
    };
    const result = await callTool(
      locateTool,
      { query: "the hanging pub sign", image: original.id },
      createToolContext({ store, locateModel: model }),
    );
    // MANIFEST.json: 1412.04, 485.21, 1623.6, 754.42. Not small on this image, so no second look.
    expect(result.structured.matches[0]!.box!.originalPixels).toEqual([1412.04, 485.21, 1623.6, 754.42]);
    expect(calls).toHaveLength(1);
  });

  it("refuses mode model without a model", async () => {
    const { context, original } = await contextWithImage(marker(10, 10, 0, 0, 1));
    expect(await codeOf(callTool(locateTool, { query: "x", mode: "model", image: original.id }, context))).toBe(
      "MODEL_REQUIRED",
    );
  });
});

function line(text: string, words: [string, number, number, number, number][], confidence = 0.9): OcrLine {
  const ws = words.map(([t, x1, y1, x2, y2]) => ({
    text: t,
    confidence,
    box: { x1, y1, x2, y2 },
    boxRel1000: [0, 0, 0, 0] as [number, number, number, number],
  }));
  return {
    text,
    confidence,
    box: { x1: ws[0]!.box.x1, y1: ws[0]!.box.y1, x2: ws.at(-1)!.box.x2, y2: ws.at(-1)!.box.y2 },
    boxRel1000: [0, 0, 0, 0],
    words: ws,
    engine: "tesseract",
  };
}

describe("locate without a model (OCR)", () => {
  const page: OcrResult = {
    width: 400,
    height: 300,
    lines: [
      line("Welcome back!", [
        ["Welcome", 20, 20, 120, 40],
        ["back!", 125, 20, 180, 40],
      ]),
      line("Forgot password? Sign in", [
        ["Forgot", 20, 100, 80, 120],
        ["password?", 85, 100, 170, 120],
        ["Sign", 200, 100, 240, 120],
        ["in", 245, 100, 260, 120],
      ]),
    ],
  };
  const ocr: OcrFunction = async () => page;

  it("finds the words of a quoted text and boxes just them", async () => {
    const { context, original } = await contextWithImage(marker(400, 300, 0, 0, 1), { ocr });
    const result = await callTool(locateTool, { query: 'the "Sign in" button', image: original.id }, context);
    expect(result.structured).toMatchObject({ found: true, method: "ocr", modelCalls: 0 });
    expect(result.structured.matches[0]).toMatchObject({
      text: "Sign in",
      box: { pixels: [200, 100, 260, 120], originalPixels: [200, 100, 260, 120] },
      center: [230, 110],
    });
  });

  it("matches across case and punctuation", async () => {
    const { context, original } = await contextWithImage(marker(400, 300, 0, 0, 1), { ocr });
    const result = await callTool(locateTool, { query: "welcome BACK", image: original.id }, context);
    expect(result.structured.matches[0]!.box!.pixels).toEqual([20, 20, 180, 40]);
  });

  it("says not found (and why) for something that is not visible text", async () => {
    const { context, original } = await contextWithImage(marker(400, 300, 0, 0, 1), { ocr });
    const result = await callTool(locateTool, { query: "the red car", image: original.id }, context);
    expect(result.structured.found).toBe(false);
    expect(result.summary).toMatch(/only finds visible text/);
  });

  it("takes the quoted part of a query as the text, but not an apostrophe", () => {
    expect(textTarget("click “Submit order” now")).toBe("Submit order");
    expect(textTarget("the 'OK' button")).toBe("OK");
    expect(textTarget("don't click the user's name")).toBe("don't click the user's name");
    expect(textTarget("Submit")).toBe("Submit");
  });

  it("reads an image once for several queries", async () => {
    let reads = 0;
    const counting: OcrFunction = async () => {
      reads++;
      return page;
    };
    const { context, original } = await contextWithImage(marker(400, 300, 0, 0, 1), { ocr: counting });
    await callTool(locateTool, { query: "Sign in", image: original.id }, context);
    const second = await callTool(locateTool, { query: "Forgot", image: original.id }, context);
    expect(second.structured.matches[0]!.box!.pixels).toEqual([20, 100, 80, 120]);
    expect(reads).toBe(1);
  });
});
