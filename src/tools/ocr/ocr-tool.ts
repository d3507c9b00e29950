import { z } from "zod";
import {
  describeRegion,
  imageSelectorShape,
  imageSummary,
  imageSummarySchema,
  type OcrFunction,
  regionSchema,
  selectImage,
  type ToolContext,
} from "../context.js";
import { type Box, type CoordinateSpace, coordinateSpaces, parseBox, pixelRect, rectBox } from "../geometry.js";
import { cropPixels } from "../store/pixel-ops.js";
import type { ToolDefinition } from "../tool.js";
import { createOcrEngine, type OcrEngine } from "./engine.js";
import type { OcrLine, OcrResult, PixelBox } from "./types.js";

/**
 * The `ocr` tool: reads the text of an image, or of a region of it, and says where each line (and word)
 * is — in 0–1000 on the image the call named, in its pixels, and in the pixels of the original image the
 * user gave (through the store's lineage, so OCR on a zoomed crop still points into the original).
 */

const inputSchema = z.object({
  ...imageSelectorShape,
  bbox_2d: z
    .array(z.number())
    .length(4)
    .optional()
    .describe("Only read this region, [x1, y1, x2, y2]; 0–1000 relative unless `space` says otherwise."),
  space: z
    .enum(coordinateSpaces as [CoordinateSpace, ...CoordinateSpace[]])
    .default("rel1000")
    .describe("Units of bbox_2d: rel1000 (0–1000, default), rel999, unit (0–1) or pixel."),
  words: z.boolean().default(false).describe("Also return each word with its box."),
  script: z
    .enum(["auto", "latin", "chinese"])
    .default("auto")
    .describe(
      "Which characters to read: auto (default: per line, Latin lines never gain Chinese characters), latin (Latin letters, digits, punctuation only), chinese (Chinese with Latin mixed in).",
    ),
  min_confidence: z.number().min(0).max(1).default(0).describe("Leave out lines read with a lower confidence (0–1)."),
});

const wordSchema = z.object({ text: z.string(), confidence: z.number(), ...regionSchema.shape });
const lineSchema = z.object({
  text: z.string(),
  confidence: z.number(),
  read_by: z
    .string()
    .describe('Which recogniser read the line and with which characters, e.g. "PP-OCRv4, Latin characters".'),
  ...regionSchema.shape,
  words: z.array(wordSchema).optional(),
});

const outputSchema = z.object({
  source: imageSummarySchema,
  region: regionSchema.optional().describe("The region that was read, when bbox_2d was given."),
  text: z.string().describe("All lines in reading order, one per line."),
  lines: z.array(lineSchema),
});

let sharedEngine: OcrEngine | undefined;

/**
 * The process-wide OCR engine the tool uses when its context brings none (started on first use). Always the
 * same function, so what is cached per OCR function (locate reads a screenshot once for many queries) holds.
 */
const sharedOcrFunction: OcrFunction = (image, signal, options) => {
  sharedEngine ??= createOcrEngine();
  return sharedEngine.recognize(image, {
    ...(signal ? { signal } : {}),
    ...(options?.script ? { script: options.script } : {}),
  });
};

export function defaultOcrFunction(): OcrFunction {
  return sharedOcrFunction;
}

/** Stops the shared engine's worker (it never keeps the process alive while idle; this frees its memory). */
export async function closeDefaultOcrEngine(): Promise<void> {
  const engine = sharedEngine;
  sharedEngine = undefined;
  await engine?.close();
}

/** Moves a box from the pixels of a crop to the pixels of the image it was cut from. */
function fromCrop(box: PixelBox, offset: { left: number; top: number }): Box {
  return { x1: box.x1 + offset.left, y1: box.y1 + offset.top, x2: box.x2 + offset.left, y2: box.y2 + offset.top };
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;

/** The recogniser, and for the built-in one the characters it allowed on the line. */
function readBy(line: OcrLine): string {
  const engine = line.engine === "ppocr" ? "PP-OCRv4" : line.engine;
  if (line.script === undefined) return engine;
  return `${engine}, ${line.script === "latin" ? "Latin characters" : "Chinese and Latin characters"}`;
}

export const ocrTool: ToolDefinition<typeof inputSchema, typeof outputSchema, ToolContext> = {
  name: "ocr",
  title: "Read text",
  description:
    "Read the text in an image (or in the region bbox_2d of it, 0–1000 relative) and return each line with its box. Works offline; reads printed text, signs and receipts in Latin-script languages and Chinese; each line says which recogniser read it.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async run(input, context, options) {
    const source = await selectImage(input, context, options.signal);
    const pixels = context.store.pixels(source.id);
    const rect =
      input.bbox_2d === undefined
        ? { left: 0, top: 0, width: source.width, height: source.height }
        : pixelRect(parseBox(input.bbox_2d, input.space ?? "rel1000", source), source);
    const ocr = context.ocr ?? defaultOcrFunction();
    options.onProgress?.({ progress: 0, total: 1, message: "reading text" });
    // Admitted before the copy is made: each waiting call used to queue ~200 MB for the worker with no limit
    // (the crop, the copy sent to the thread, and the detector's resized input).
    const result: OcrResult = await context.store.work.run(
      rect.width * rect.height * 3 * 3,
      `Reading text in ${source.id}`,
      () => ocr(cropPixels(pixels, rect), options.signal, { script: input.script ?? "auto" }),
      options.signal,
    );
    options.onProgress?.({ progress: 1, total: 1 });
    const minConfidence = input.min_confidence ?? 0;
    const lines = result.lines
      .filter((line) => line.confidence >= minConfidence)
      .map((line) => ({
        text: line.text,
        confidence: round3(line.confidence),
        read_by: readBy(line),
        ...describeRegion(source, fromCrop(line.box, rect)),
        ...(input.words
          ? {
              words: line.words.map((word) => ({
                text: word.text,
                confidence: round3(word.confidence),
                ...describeRegion(source, fromCrop(word.box, rect)),
              })),
            }
          : {}),
      }));
    const region = input.bbox_2d === undefined ? undefined : describeRegion(source, rectBox(rect));
    const text = lines.map((line) => line.text).join("\n");
    const where = region ? ` in [${region.bbox_2d.join(", ")}]` : "";
    const preview = text.length > 600 ? `${text.slice(0, 600)}…` : text;
    return {
      structured: { source: imageSummary(source), ...(region ? { region } : {}), text, lines },
      images: [],
      summary:
        lines.length === 0
          ? `No text found in ${source.id}${where}.`
          : `Read ${lines.length} line${lines.length === 1 ? "" : "s"} from ${source.id}${where}:\n${preview}`,
    };
  },
};
