import { z } from "zod";
import { isSquintError, SquintError } from "../errors.js";
import type { GroundingItem } from "../model/grounding.js";
import { parseReply } from "../model/reply.js";
import type { RawImage } from "../model/vision.js";
import {
  describePoint,
  describeRegion,
  imageSelectorShape,
  imageSummary,
  imageSummarySchema,
  type LocateModel,
  type OcrFunction,
  pointRegionSchema,
  regionSchema,
  selectImage,
  type ToolContext,
} from "./context.js";
import {
  applyToBox,
  applyToPoint,
  type Box,
  boxArea,
  boxCenter,
  boxIoU,
  cropTransform,
  expandBox,
  type Point,
  parseBox,
  parsePoint,
  pixelRect,
  roundTo,
} from "./geometry.js";
import { defaultOcrFunction } from "./ocr/ocr-tool.js";
import type { OcrResult } from "./ocr/types.js";
import { cropPixels } from "./store/pixel-ops.js";
import { findText, textQuery } from "./text-match.js";
import type { StoredImage } from "./store/image-store.js";
import type { ToolDefinition, ToolRunOptions } from "./tool.js";

/**
 * `locate` (grounding): "find X in this image" → boxes on the image and on the original's pixels.
 *
 * With a model (context.locateModel), it asks the way the Qwen3-VL cookbook does (spec §6) and reads the
 * bbox_2d/point_2d answer with the model's grounding parser. A small target on a large image is located again
 * inside a crop around the first answer (crop-then-locate), and the refined box is mapped back through the
 * crop's lineage. Without a model, it can only find visible text: it reads the image with OCR and matches the
 * query against lines and words. Either way, what the model or OCR did not give is never made up: no answer
 * is "not found".
 */

export const LOCATE_TOOL_NAME = "locate";

/** The cookbook's grounding prompt, verbatim but for the object. */
export function groundingPrompt(query: string): string {
  return `Detect all ${query} in the image and output their bbox coordinates in JSON format.`;
}

/** When a first answer is this small a fraction of the image (area), auto mode looks again inside a crop. */
const REFINE_MAX_AREA_FRACTION = 0.01;
/** …and only on images whose long side exceeds this (below it the model sees the target well enough). */
const REFINE_MIN_LONG_SIDE = 1000;
/** The crop around a first answer: this many times its size, at least this many pixels a side. */
const REFINE_WINDOW_FACTOR = 4;
const REFINE_WINDOW_MIN_SIDE = 384;
/** At most this many first answers are refined (each costs one more model call). */
const REFINE_MAX = 3;

const inputSchema = z.object({
  query: z.string().min(1).max(500).describe('What to find, e.g. "the red car" or "the Sign in button".'),
  ...imageSelectorShape,
  mode: z
    .enum(["auto", "model", "ocr"])
    .default("auto")
    .describe("auto: the model when there is one, else OCR (text only); model; ocr."),
  deep: z
    .boolean()
    .optional()
    .describe("Locate again inside a crop around each answer (default: only for small targets on large images)."),
  max_results: z.number().int().min(1).max(50).default(10),
});

const matchSchema = z.object({
  label: z.string().optional(),
  text: z.string().optional().describe("The text OCR read there (OCR matches)."),
  confidence: z.number().optional(),
  box: regionSchema.optional(),
  point: pointRegionSchema.optional(),
  center: z.tuple([z.number(), z.number()]).describe("Centre on the original image, in pixels (where to click)."),
  refined: z.boolean().describe("Whether the answer came from a second look inside a crop."),
  clamped: z.boolean().optional().describe("Whether the model's answer reached past the image and was clamped to it."),
});

const outputSchema = z.object({
  found: z.boolean(),
  query: z.string(),
  method: z.enum(["model", "ocr"]),
  source: imageSummarySchema,
  matches: z.array(matchSchema),
  modelCalls: z.number().int().describe("How many times the model was asked."),
});

type Match = z.infer<typeof matchSchema>;

interface Found {
  box?: Box;
  point?: Point;
  label?: string;
  text?: string;
  confidence?: number;
  refined: boolean;
  clamped?: boolean;
}

function toMatch(image: StoredImage, found: Found): Match {
  const centre = found.box ? boxCenter(found.box) : found.point!;
  const centreOnOriginal = applyToPoint(image.toOriginal, centre);
  return {
    ...(found.label ? { label: found.label } : {}),
    ...(found.text !== undefined ? { text: found.text } : {}),
    ...(found.confidence !== undefined ? { confidence: roundTo(found.confidence, 3) } : {}),
    ...(found.box ? { box: describeRegion(image, found.box) } : {}),
    ...(found.point ? { point: describePoint(image, found.point) } : {}),
    center: [roundTo(centreOnOriginal.x, 2), roundTo(centreOnOriginal.y, 2)],
    refined: found.refined,
    ...(found.clamped ? { clamped: true } : {}),
  };
}

/** The model's reply → boxes/points in `image`'s pixels; answers outside the image or malformed are dropped. */
function readAnswer(reply: string, size: { width: number; height: number }): Found[] {
  // A Thinking model's reply carries its reasoning before </think>; only the answer after it counts.
  const parsed = parseReply(reply, { thinking: reply.includes("</think>") });
  const found: Found[] = [];
  // parseBox/parsePoint clamp answers that reach a little past the edge (Qwen3-VL #1035); say so.
  const outside = (values: readonly number[]) => values.some((v) => v < 0 || v > 1000);
  for (const item of parsed.grounding as GroundingItem[]) {
    try {
      if (item.kind === "box") {
        found.push({
          box: parseBox(item.bbox, "rel1000", size),
          ...(item.label ? { label: item.label } : {}),
          refined: false,
          ...(outside(item.bbox) ? { clamped: true } : {}),
        });
      } else {
        found.push({
          point: parsePoint(item.point, "rel1000", size),
          ...(item.label ? { label: item.label } : {}),
          refined: false,
          ...(outside(item.point) ? { clamped: true } : {}),
        });
      }
    } catch (error) {
      if (!isSquintError(error)) throw error;
    }
  }
  return found;
}

function shouldRefine(found: Found, image: StoredImage, deep: boolean | undefined): boolean {
  if (!found.box) return false;
  if (deep !== undefined) return deep;
  const small = boxArea(found.box) < REFINE_MAX_AREA_FRACTION * image.width * image.height;
  return small && Math.max(image.width, image.height) > REFINE_MIN_LONG_SIDE;
}

async function locateWithModel(
  model: LocateModel,
  image: StoredImage,
  query: string,
  deep: boolean | undefined,
  context: ToolContext,
  options: ToolRunOptions,
): Promise<{ found: Found[]; calls: number }> {
  const prompt = groundingPrompt(query);
  const first = readAnswer(await model(context.store.pixels(image.id), prompt, options.signal), image);
  let calls = 1;
  const results: Found[] = [];
  for (const [index, found] of first.entries()) {
    if (index >= REFINE_MAX || !shouldRefine(found, image, deep)) {
      results.push(found);
      continue;
    }
    options.signal?.throwIfAborted();
    const window = pixelRect(expandBox(found.box!, REFINE_WINDOW_FACTOR, image, REFINE_WINDOW_MIN_SIDE), image);
    const crop = context.store.derive(image.id, cropPixels(context.store.pixels(image.id), window), {
      operation: "crop",
      toParent: cropTransform(window, window),
      label: `locate: ${query}`,
    });
    options.onProgress?.({ progress: calls, message: `looking closer at ${crop.id}` });
    const second = readAnswer(await model(context.store.pixels(crop.id), prompt, options.signal), crop);
    calls++;
    // The crop's lineage maps its boxes to the image; keep the one nearest the first answer.
    const candidates = second
      .filter((f) => f.box)
      .map((f) => ({ ...f, box: applyToBox(crop.toParent, f.box!), refined: true }))
      .sort((p, q) => boxIoU(q.box, found.box!) - boxIoU(p.box, found.box!));
    results.push(candidates[0] ?? found);
  }
  return { found: results, calls };
}

/**
 * The text to look for: a quoted part of the query when there is one ('the "Sign in" button' → Sign in).
 * Single quotes count only as a pair around words, so the apostrophe in "don't" is not a quote.
 */
export function textTarget(query: string): string {
  const doubled = /["“”「『]([^"“”」』]+)["“”」』]/u.exec(query);
  if (doubled) return doubled[1]!;
  const single = /(?:^|\s)['‘]([^'‘’]+)['’](?=$|[\s.,;:!?])/u.exec(query);
  return single?.[1] ?? query;
}

/**
 * OCR results per OCR function and pixel buffer: "find X" then "find Y" on one screenshot reads it once.
 * Weak keys: stored pixels are never written to, and an evicted image takes its entry with it.
 */
const ocrCache = new WeakMap<OcrFunction, WeakMap<RawImage, Promise<OcrResult>>>();

function readText(ocr: OcrFunction, pixels: RawImage, signal: AbortSignal | undefined): Promise<OcrResult> {
  let perImage = ocrCache.get(ocr);
  if (!perImage) {
    perImage = new WeakMap();
    ocrCache.set(ocr, perImage);
  }
  const cached = perImage.get(pixels);
  if (cached) return cached;
  const reading = ocr(pixels, signal);
  perImage.set(pixels, reading);
  // A failed or cancelled read is not remembered.
  reading.catch(() => perImage.delete(pixels));
  return reading;
}

async function locateWithOcr(
  ocr: OcrFunction,
  image: StoredImage,
  query: string,
  context: ToolContext,
  options: ToolRunOptions,
): Promise<Found[]> {
  const wanted = textTarget(query);
  if (textQuery(wanted).target === "") return [];
  const result = await readText(ocr, context.store.pixels(image.id), options.signal);
  return findText(result, wanted).map(({ box, text, confidence }) => ({ box, text, confidence, refined: false }));
}

export const locateTool: ToolDefinition<typeof inputSchema, typeof outputSchema, ToolContext> = {
  name: LOCATE_TOOL_NAME,
  title: "Locate",
  description:
    "Find something in an image and return its boxes: on the image in 0–1000 units and in the original image's pixels. With a vision model it finds any object or element; without one it finds visible text (OCR). Says when nothing is found.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, idempotentHint: false, openWorldHint: false },
  async run(input, context, options) {
    const query = input.query.trim();
    if (query === "") {
      throw new SquintError("INVALID_ARGUMENT", "The query is empty.", {
        hint: 'Say what to find, e.g. "the red car".',
      });
    }
    const mode = input.mode ?? "auto";
    if (mode === "model" && !context.locateModel) {
      throw new SquintError("MODEL_REQUIRED", "mode is model, but no vision model is available here.", {
        hint: 'Use mode "ocr" to find text, or run with a model (squint mcp --model …).',
      });
    }
    const image = await selectImage(input, context, options.signal);
    const useModel = mode === "model" || (mode === "auto" && context.locateModel !== undefined);
    let found: Found[];
    let calls = 0;
    if (useModel) {
      ({ found, calls } = await locateWithModel(context.locateModel!, image, query, input.deep, context, options));
    } else {
      found = await locateWithOcr(context.ocr ?? defaultOcrFunction(), image, query, context, options);
    }
    const matches = found.slice(0, input.max_results ?? 10).map((f) => toMatch(image, f));
    const method = useModel ? "model" : "ocr";
    const listed = matches
      .map((m) => `${m.label ?? m.text ?? query} at [${(m.box?.originalPixels ?? m.center).join(", ")}]`)
      .join("; ");
    const quoted = /^["“'‘「『]/u.test(query) ? query : `"${query}"`;
    const notFound = useModel
      ? `${quoted} was not found in ${image.id}.`
      : `No text matching "${textTarget(query)}" was found in ${image.id} (without a vision model, locate only finds visible text).`;
    return {
      structured: { found: matches.length > 0, query, method, source: imageSummary(image), matches, modelCalls: calls },
      images: [],
      summary:
        matches.length === 0
          ? notFound
          : `Found ${matches.length} match${matches.length === 1 ? "" : "es"} for ${quoted} in ${image.id} (${method}; original pixels): ${listed}.`,
    };
  },
};
