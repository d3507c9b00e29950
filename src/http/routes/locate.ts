import { randomUUID } from "node:crypto";
import { z } from "zod";
import { backendLocateModel } from "../../agent/locate.js";
import { SquintError } from "../../errors.js";
import { createToolContext } from "../../tools/context.js";
import { locateTool } from "../../tools/locate.js";
import type { FairQueue } from "../admission.js";
import { errorBodySchema } from "../error-reply.js";
import { imagesWhenAdmitted, resolveRequestImages } from "../request-images.js";
import type { ServeApp, ServeContext } from "../serve-context.js";

/**
 * POST /v1/locate: "where is X in this image" → per query `found` and detections whose `box` is
 * [x1, y1, x2, y2] in the pixels of the image as sent (after EXIF orientation), never of a resized view.
 * The work is the built-in `locate` tool's: with a model, the cookbook grounding prompt, a second look inside
 * a crop for small targets, boxes mapped back through the crop's lineage; without one, OCR finds visible
 * text. "Not found" is `found: false`, not an error.
 */

const tuple4 = z.tuple([z.number(), z.number(), z.number(), z.number()]);
const tuple2 = z.tuple([z.number(), z.number()]);

export const locateBodySchema = z.object({
  image: z.string().min(1).describe("A data URL, an http(s) URL (public hosts only), or an uploaded image id (upl_…)."),
  query: z
    .union([z.string().trim().min(1).max(500), z.array(z.string().trim().min(1).max(500)).min(1)])
    .describe('What to find: "the Save button", or a list of targets.'),
  mode: z.enum(["box", "point"]).default("box").describe("box: boxes and their centres; point: points only."),
  all: z.boolean().default(true).describe("Every instance (true) or only the best one (false)."),
  max_results: z.number().int().min(1).max(50).default(10).describe("Most detections per query."),
  deep: z
    .boolean()
    .optional()
    .describe("Look again inside a crop around each answer (model only; default: small targets on large images)."),
  method: z
    .enum(["auto", "model", "ocr"])
    .default("auto")
    .describe("auto: the model when the server has one, else OCR (visible text only)."),
});

const detectionSchema = z.object({
  label: z.string().optional(),
  text: z.string().optional().describe("The text OCR read there."),
  box: tuple4.nullable().describe("[x1, y1, x2, y2] in the original image's pixels (null for a point answer)."),
  box_rel1000: tuple4.nullable().describe("The same box in 0–1000 units of the original image."),
  point: tuple2.describe("[x, y] in the original image's pixels: the box's centre, or the point answer."),
  score: z.number().nullable().describe("A confidence, or null when the method gives none."),
  score_kind: z.enum(["ocr_confidence", "none"]),
  clamped: z.boolean().describe("The model's answer reached past the image and was clamped to it."),
  refined: z.boolean().describe("The answer came from a second look inside a crop."),
  method: z.enum(["model", "ocr"]),
});

const resultSchema = z.object({
  query: z.string(),
  found: z.boolean(),
  detections: z.array(detectionSchema),
  note: z.string().optional(),
});

export const locateResponseSchema = z.object({
  id: z.string(),
  model: z.string().nullable(),
  image: z.object({ width: z.number().int(), height: z.number().int() }),
  results: z.array(resultSchema),
  usage: z.object({ model_calls: z.number().int() }),
  timing_ms: z.object({ queue: z.number(), images: z.number(), locate: z.number(), total: z.number() }),
});

type Detection = z.infer<typeof detectionSchema>;

const round = (value: number) => Math.round(value * 100) / 100;

export function registerLocateRoute(app: ServeApp, context: ServeContext): void {
  app.post(
    "/v1/locate",
    {
      schema: {
        summary: "Find targets in an image: boxes and points in the original image's pixels.",
        body: locateBodySchema,
        response: { 200: locateResponseSchema, "4xx": errorBodySchema, "5xx": errorBodySchema },
      },
    },
    async (request) => {
      const started = performance.now();
      const body = request.body;
      const queries = typeof body.query === "string" ? [body.query] : body.query;
      if (queries.length > context.limits.maxQueries) {
        throw new SquintError(
          "REQUEST_TOO_LARGE",
          `${queries.length} queries; one request may have ${context.limits.maxQueries}.`,
          {
            hint: "Split the queries over several requests (upload the image once with POST /v1/images).",
          },
        );
      }
      const useModel = body.method === "model" || (body.method === "auto" && context.model.configured);
      // Readiness and admission are decided here, before the image is read or decoded.
      const backend = useModel ? context.model.require("method model") : undefined;
      const lane: FairQueue = useModel ? context.lanes.model : context.lanes.ocr;
      const ticket = lane.enqueue(request.ip, request.clientGone);
      try {
        const imagesStarted = performance.now();
        const resolving = resolveRequestImages([body.image], {
          store: context.store,
          uploads: context.uploads,
          policy: context.policy,
          signal: request.clientGone,
        });
        const { images, release } = await imagesWhenAdmitted(ticket.granted, resolving);
        const imagesMs = performance.now() - imagesStarted;
        context.metrics.queueTime.observe({ lane: useModel ? "model" : "ocr" }, ticket.waitedMs / 1000);
        const image = images[0]!;
        try {
          const locateStarted = performance.now();
          const toolContext = createToolContext({
            store: context.store,
            ...(backend ? { locateModel: backendLocateModel(backend) } : {}),
            ocr: context.ocr(),
          });
          let modelCalls = 0;
          const results: z.infer<typeof resultSchema>[] = [];
          for (const query of queries) {
            const input = locateTool.inputSchema.parse({
              query,
              image: image.id,
              mode: useModel ? "model" : "ocr",
              max_results: body.all ? body.max_results : 1,
              ...(body.deep === undefined ? {} : { deep: body.deep }),
            });
            const output = await locateTool.run(input, toolContext, { signal: request.clientGone });
            const located = output.structured;
            modelCalls += located.modelCalls;
            const detections = located.matches.map(
              (match): Detection => ({
                ...(match.label === undefined ? {} : { label: match.label }),
                ...(match.text === undefined ? {} : { text: match.text }),
                box: body.mode === "box" && match.box ? match.box.originalPixels : null,
                box_rel1000: body.mode === "box" && match.box ? match.box.bbox_2d : null,
                point: match.point ? match.point.originalPixels : [round(match.center[0]), round(match.center[1])],
                score: match.confidence ?? null,
                score_kind: match.confidence === undefined ? "none" : "ocr_confidence",
                clamped: match.clamped ?? false,
                refined: match.refined,
                method: located.method,
              }),
            );
            context.metrics.locateQueries.inc({ method: located.method, found: String(detections.length > 0) });
            results.push({
              query,
              found: detections.length > 0,
              detections,
              ...(detections.length === 0 && located.method === "ocr"
                ? {
                    note: "Without a model, locate finds only visible text (OCR); start the server with --model or --base-url to find other targets.",
                  }
                : {}),
            });
          }
          const now = performance.now();
          return {
            id: `loc_${randomUUID()}`,
            model: backend ? backend.info.name : null,
            image: { width: image.width, height: image.height },
            results,
            usage: { model_calls: modelCalls },
            timing_ms: {
              queue: round(ticket.waitedMs),
              images: round(imagesMs),
              locate: round(now - locateStarted),
              total: round(now - started),
            },
          };
        } finally {
          release();
        }
      } finally {
        ticket.release();
      }
    },
  );
}
