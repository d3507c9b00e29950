import sharp from "sharp";
import { describe, expect, it } from "vitest";
import type { TraceCall, TraceStep } from "../../src/agent/context.js";
import { boxesOf, stepsOf } from "../../src/agent/ask-image-result.js";
import { cropTransform } from "../../src/tools/geometry.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { cropPixels } from "../../src/tools/store/pixel-ops.js";

function step(number: number, calls: Partial<TraceCall>[]): TraceStep {
  return {
    step: number,
    finalTurn: false,
    startedAt: 0,
    modelMs: 0,
    toolMs: 0,
    reasoning: "",
    text: "",
    finishReason: "tool-calls",
    inputTokens: 0,
    outputTokens: 0,
    visualTokens: 0,
    elided: [],
    calls: calls.map((call, index) => ({
      toolCallId: `call_${number}_${index}`,
      toolName: "tool",
      input: {},
      ok: true,
      summary: "",
      images: [],
      durationMs: 0,
      ...call,
    })),
  };
}

async function storeWithCrop() {
  const store = new ImageStore();
  const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: "#fff" } })
    .png()
    .toBuffer();
  const original = await store.ingest(png);
  // The right half of the original, at the same scale.
  const rect = { left: 200, top: 0, width: 200, height: 300 };
  const crop = store.derive(original.id, cropPixels(store.pixels(original.id), rect), {
    operation: "crop",
    toParent: cropTransform(rect, { width: 200, height: 300 }),
  });
  return { store, original, crop };
}

describe("ask_image result: steps and boxes", () => {
  it("lists one step per tool call, with the ids of the images each made", () => {
    const trace = [
      step(1, [
        {
          toolName: "image_zoom_in_tool",
          input: { img_idx: 0 },
          images: [{ index: 1, storeId: "img-2", width: 1, height: 1 }],
        },
        { toolName: "ocr", ok: false, summary: "failed" },
      ]),
      step(2, []),
    ];
    expect(stepsOf(trace)).toEqual([
      { step: 1, tool: "image_zoom_in_tool", arguments: { img_idx: 0 }, ok: true, summary: "", images: ["img-2"] },
      { step: 1, tool: "ocr", arguments: {}, ok: false, summary: "failed", images: [] },
    ]);
  });

  it("takes regions and located boxes from successful calls only, labelled from the result or the arguments", async () => {
    const { original } = await storeWithCrop();
    const region = { region: { originalPixels: [1, 2, 3, 4] }, source: { originalId: original.id } };
    const trace = [
      step(1, [
        { toolName: "image_zoom_in_tool", input: { label: "from args" }, structured: region },
        { toolName: "image_crop", input: { label: "ignored" }, structured: { ...region, label: "from result" } },
        { toolName: "image_zoom_in_tool", ok: false, structured: region },
      ]),
      step(2, [
        {
          toolName: "locate",
          structured: {
            source: { originalId: original.id },
            matches: [
              { label: "cat", box: { originalPixels: [10, 20, 30, 40] } },
              { text: "EXIT", box: { originalPixels: [5, 6, 7, 8] } },
              { label: "a point only", point: { originalPixels: [1, 1] } },
            ],
          },
        },
        { toolName: "image_info", structured: { width: 400, height: 300 } },
      ]),
    ];
    expect(boxesOf(trace, null, original)).toEqual([
      { label: "from args", box: [1, 2, 3, 4], image: original.id, from: "image_zoom_in_tool", step: 1 },
      { label: "from result", box: [1, 2, 3, 4], image: original.id, from: "image_crop", step: 1 },
      { label: "cat", box: [10, 20, 30, 40], image: original.id, from: "locate", step: 2 },
      { label: "EXIT", box: [5, 6, 7, 8], image: original.id, from: "locate", step: 2 },
    ]);
  });

  it("reads answer boxes on the first image given, through its lineage, and drops boxes it cannot place", async () => {
    const { original, crop } = await storeWithCrop();
    const answer =
      '```json\n[{"bbox_2d": [0, 0, 500, 1000], "label": "left half of the crop"}, ' +
      '{"bbox_2d": [100, 100, 1200, 500], "label": "outside"}, {"bbox_2d": [500, 500, 400, 600]}, ' +
      '{"point_2d": [500, 500], "label": "a point"}]\n```';
    expect(boxesOf([step(1, []), step(2, [])], answer, crop)).toEqual([
      { label: "left half of the crop", box: [200, 0, 300, 300], image: original.id, from: "answer", step: 2 },
    ]);
    expect(boxesOf([], "no boxes here", original)).toEqual([]);
    expect(boxesOf([], '{"bbox_2d": [0, 0, 1000, 1000]}', undefined)).toEqual([]);
  });
});
