import { z } from "zod";
import { parseWith } from "../errors.js";

/**
 * Every limit `squint serve` enforces, in one place, with its default and its flag. Admission uses them
 * before any image is decoded or any model work starts (peers-gui-serving.md §D.3: vLLM #58192 refused
 * requests only after rendering their images).
 */
export const serveLimitsSchema = z.object({
  /** Largest request body in bytes (413 REQUEST_TOO_LARGE above it). --max-body-mb */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(32 * 1024 * 1024),
  /** Images one request may carry (413). --max-images */
  maxImagesPerRequest: z.number().int().positive().default(8),
  /** Pixels (width × height) of one image, read from its header before decoding (413). --max-pixels */
  maxPixelsPerImage: z
    .number()
    .int()
    .positive()
    .default(8192 * 8192),
  /** Encoded bytes of one image, from a URL or a data URL (413). --max-image-mb */
  maxImageBytes: z
    .number()
    .int()
    .positive()
    .default(20 * 1024 * 1024),
  /** Requests waiting for the model beyond those running; one more gets 429 + Retry-After. --max-queue */
  maxQueuedModel: z.number().int().min(0).default(32),
  /** Generations run at once: 1 on the local engine (one KV cache); a remote server may take more. --max-concurrent */
  maxConcurrentModel: z.number().int().positive().optional(),
  /** OCR locate requests run at once (the OCR engine is one worker; more only overlap decoding). */
  maxConcurrentOcr: z.number().int().positive().default(2),
  /** OCR locate requests waiting beyond those running (429 beyond). */
  maxQueuedOcr: z.number().int().min(0).default(64),
  /** Longest a request may wait in a queue before it is refused (503 TIMEOUT). --queue-timeout-s */
  queueTimeoutMs: z.number().int().positive().default(60_000),
  /** Longest a request may run once admitted; it is aborted then (504 TIMEOUT). --request-timeout-s */
  requestTimeoutMs: z.number().int().positive().default(300_000),
  /** Time limit for one image download. --fetch-timeout-s */
  fetchTimeoutMs: z.number().int().positive().default(10_000),
  /** Uploaded images kept (POST /v1/images); the oldest is dropped beyond it. --max-uploads */
  maxUploads: z.number().int().positive().default(256),
  /** Seconds an uploaded image lives after its last use. --upload-ttl-s */
  uploadTtlMs: z
    .number()
    .int()
    .positive()
    .default(15 * 60_000),
  /** Decoded image bytes the server keeps in memory (uploads and request images together). */
  maxStoreBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024 * 1024),
  /** Largest max_tokens a chat completion may ask for; also the default when it asks for none. */
  maxOutputTokens: z.number().int().positive().default(4096),
  /** Agent turns one /v1/ask may take (tool-using turns, then a final answer). */
  maxAskSteps: z.number().int().positive().default(8),
  /** Queries in one /v1/locate request. */
  maxQueries: z.number().int().positive().default(16),
});

export type ServeLimits = z.infer<typeof serveLimitsSchema>;
export type ServeLimitsInput = z.input<typeof serveLimitsSchema>;

export function resolveServeLimits(input: ServeLimitsInput = {}): ServeLimits {
  return parseWith(serveLimitsSchema, input, "Invalid serve limits", {
    hint: "Limits are whole numbers above zero (see squint serve --help).",
  });
}
