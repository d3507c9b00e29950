import { z } from "zod";
import { scriptOptions } from "./ppocr/script-filter.js";

/**
 * Messages between the OCR worker thread and the engine that owns it. Checked with zod on arrival even
 * though both ends are ours: a version skew between dist and src would otherwise fail far from here.
 */
const pixels = z.object({
  data: z.instanceof(Uint8Array),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  channels: z.number().int().min(1).max(4).optional(),
});

export const workerRequestSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("recognize"),
    id: z.number().int(),
    image: z.union([z.instanceof(Uint8Array), pixels]),
    script: z.enum(scriptOptions).optional(),
  }),
  z.object({ kind: z.literal("cancel"), id: z.number().int() }),
  z.object({ kind: z.literal("close") }),
]);
export type WorkerRequest = z.infer<typeof workerRequestSchema>;

const box = z.object({ x1: z.number(), y1: z.number(), x2: z.number(), y2: z.number() });
const rel = z.tuple([z.number(), z.number(), z.number(), z.number()]);
const word = z.object({
  text: z.string(),
  confidence: z.number(),
  box,
  boxRel1000: rel,
  chars: z.array(z.object({ text: z.string(), box })).optional(),
});
export const ocrResultSchema = z.object({
  width: z.number(),
  height: z.number(),
  lines: z.array(
    z.object({
      text: z.string(),
      confidence: z.number(),
      box,
      boxRel1000: rel,
      words: z.array(word),
      engine: z.enum(["ppocr", "tesseract"]),
      script: z.enum(["latin", "chinese"]).optional(),
    }),
  ),
});

const wireError = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type WireError = z.infer<typeof wireError>;

export const workerResponseSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("ready") }),
  z.object({ kind: z.literal("load-failed"), error: wireError }),
  z.object({ kind: z.literal("result"), id: z.number().int(), result: ocrResultSchema }),
  z.object({ kind: z.literal("error"), id: z.number().int(), error: wireError }),
]);
export type WorkerResponse = z.infer<typeof workerResponseSchema>;

/** What the engine passes to the worker at start (plain data: it crosses a structured clone). */
export const workerDataSchema = z.object({
  threads: z.number().int().positive().optional(),
  paths: z
    .object({
      detection: z.string(),
      recognition: z.string(),
      dictionary: z.string(),
      orientation: z.string().optional(),
    })
    .optional(),
  read: z
    .object({
      detectionMinSide: z.number().positive(),
      detectionMaxSide: z.number().positive(),
      minConfidence: z.number(),
      wordGapFactor: z.number().positive(),
      minSpaceProbability: z.number().min(0).max(1),
      spacePitchRatio: z.number().min(0),
      sureSpaceProbability: z.number().min(0).max(1),
      script: z.enum(scriptOptions),
      fixLetterDigit: z.boolean(),
      batchSize: z.number().int().positive(),
      fixUpsideDown: z.boolean(),
    })
    .partial()
    .optional(),
});

/**
 * The keys of a parsed message that are present. zod types an optional key as `T | undefined`; the engine's
 * options are exact (an explicit undefined would override a default when spread over it).
 */
export function presentKeys<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
