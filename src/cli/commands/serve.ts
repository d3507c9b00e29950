import { parseArgs } from "node:util";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import type { ServeLimitsInput } from "../../http/limits.js";
import type { CliIO, Command } from "../command.js";
import {
  backendOptions,
  type ModelFlags,
  modelFlagOptions,
  modelFlagsUsage,
  readModelFlags,
  stderrProgress,
  wantsModel,
} from "../model-flags.js";

/**
 * `squint serve`: the grounding API and the OpenAI-compatible endpoint over HTTP (src/http/). Without a
 * model it serves OCR-based /v1/locate and uploads; with --model (local engine) or --base-url (a remote
 * OpenAI-compatible server) it also serves /v1/ask, /v1/chat/completions and model-based locate.
 */

const MIB = 1024 * 1024;

const usage = `Usage: squint serve [--model ID|DIR | --base-url URL [--model-name NAME] [--api-key K] [--preset P]]
                   [--host H] [--port N] [--token T] [--cors-origin O]... [limits]

Serves, on http://HOST:PORT:
  POST /v1/locate            find targets in an image: boxes and points in the original image's pixels
  POST /v1/ask               images + question -> answer, steps, boxes, usage (stream: true for SSE events)
  POST /v1/images            upload an image once; name it by its id (upl_...) later
  POST /v1/chat/completions  OpenAI-compatible, on the server's model (streaming, images, tools, reasoning)
  GET  /v1/models, /health, /ready (503 until the model is loaded and warmed), /metrics, /openapi.json

Model (optional; without one, /v1/locate finds visible text by OCR):
${modelFlagsUsage}
                          (--model-name is also the id served, with --model too)
  --no-warmup             say ready as soon as the model is loaded, without one warm-up generation

Network:
  --host H                bind address (default 127.0.0.1; any other address requires --token)
  --port N                port (default 8091; 0 picks a free one)
  --token T               require "Authorization: Bearer T" (default: $SQUINT_SERVE_TOKEN); /health and /ready stay open
  --cors-origin O         allow this browser origin (repeatable; CORS is off without one)
  --allow-private-urls    let image URLs reach loopback, private and link-local addresses (unsafe)
  --allow-url-host H      trust this one URL host even if private (repeatable)

Limits (every one is checked before any image is decoded or any model work starts):
  --max-body-mb N         largest request body (default 32) -> 413
  --max-image-mb N        largest image, inline or downloaded (default 20) -> 413
  --max-pixels N          most pixels in one image, read from its header (default 67108864) -> 413
  --max-images N          images per request (default 8) -> 413
  --max-queue N           requests waiting for the model (default 32); one more -> 429 + Retry-After
  --max-concurrent N      generations at once (default 1: the local engine runs one; a remote server may take more)
  --queue-timeout-s N     longest wait in the queue (default 60) -> 503
  --request-timeout-s N   longest run once admitted (default 300) -> 504
  --fetch-timeout-s N     one image download (default 10)
  --max-uploads N         uploaded images kept (default 256; the oldest goes first)
  --upload-ttl-s N        an upload's life after its last use (default 900)
  --max-output-tokens N   largest max_tokens, and the default (default 4096)
  --max-steps N           agent turns per /v1/ask (default 8)
`;

const number = (flag: string) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, `${flag} takes a number`)
    .transform(Number)
    .pipe(z.number().positive(`${flag} must be greater than zero`));
const whole = (flag: string, min = 1) =>
  z
    .string()
    .regex(/^\d+$/, `${flag} takes a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${flag} must be at least ${min}`));

const argsSchema = z.object({
  warmup: z.boolean(),
  host: z.string().min(1).optional(),
  port: whole("--port", 0).pipe(z.number().max(65535, "--port must be at most 65535")).optional(),
  token: z.string().min(1, "--token must not be empty").optional(),
  corsOrigin: z.array(z.string().min(1)),
  allowPrivateUrls: z.boolean(),
  allowUrlHost: z.array(z.string().min(1)),
  maxBodyMb: number("--max-body-mb").optional(),
  maxImageMb: number("--max-image-mb").optional(),
  maxPixels: whole("--max-pixels").optional(),
  maxImages: whole("--max-images").optional(),
  maxQueue: whole("--max-queue", 0).optional(),
  maxConcurrent: whole("--max-concurrent").optional(),
  queueTimeoutS: number("--queue-timeout-s").optional(),
  requestTimeoutS: number("--request-timeout-s").optional(),
  fetchTimeoutS: number("--fetch-timeout-s").optional(),
  maxUploads: whole("--max-uploads").optional(),
  uploadTtlS: number("--upload-ttl-s").optional(),
  maxOutputTokens: whole("--max-output-tokens").optional(),
  maxSteps: whole("--max-steps").optional(),
});

export type ServeArgs = z.infer<typeof argsSchema> & ModelFlags;

export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...modelFlagOptions,
      "no-warmup": { type: "boolean", default: false },
      host: { type: "string" },
      port: { type: "string" },
      token: { type: "string" },
      "cors-origin": { type: "string", multiple: true, default: [] },
      "allow-private-urls": { type: "boolean", default: false },
      "allow-url-host": { type: "string", multiple: true, default: [] },
      "max-body-mb": { type: "string" },
      "max-image-mb": { type: "string" },
      "max-pixels": { type: "string" },
      "max-images": { type: "string" },
      "max-queue": { type: "string" },
      "max-concurrent": { type: "string" },
      "queue-timeout-s": { type: "string" },
      "request-timeout-s": { type: "string" },
      "fetch-timeout-s": { type: "string" },
      "max-uploads": { type: "string" },
      "upload-ttl-s": { type: "string" },
      "max-output-tokens": { type: "string" },
      "max-steps": { type: "string" },
    },
  });
  if (positionals.length > 0) {
    throw new SquintError("INVALID_ARGUMENT", `Unexpected argument "${positionals[0]}".`, {
      hint: "squint serve takes only options; see squint serve --help.",
    });
  }
  const parsed = argsSchema.safeParse({
    warmup: !values["no-warmup"],
    host: values.host,
    port: values.port,
    token: values.token ?? (env.SQUINT_SERVE_TOKEN || undefined),
    corsOrigin: values["cors-origin"],
    allowPrivateUrls: values["allow-private-urls"],
    allowUrlHost: values["allow-url-host"],
    maxBodyMb: values["max-body-mb"],
    maxImageMb: values["max-image-mb"],
    maxPixels: values["max-pixels"],
    maxImages: values["max-images"],
    maxQueue: values["max-queue"],
    maxConcurrent: values["max-concurrent"],
    queueTimeoutS: values["queue-timeout-s"],
    requestTimeoutS: values["request-timeout-s"],
    fetchTimeoutS: values["fetch-timeout-s"],
    maxUploads: values["max-uploads"],
    uploadTtlS: values["upload-ttl-s"],
    maxOutputTokens: values["max-output-tokens"],
    maxSteps: values["max-steps"],
  });
  if (!parsed.success) {
    throw new SquintError("INVALID_ARGUMENT", parsed.error.issues.map((issue) => issue.message).join("; "), {
      hint: "See squint serve --help for the options.",
    });
  }
  return {
    ...parsed.data,
    ...readModelFlags(values, env, "See squint serve --help for the options.", { modelNameForLocal: true }),
  };
}

/** The limits the flags set (the rest keep their defaults, src/http/limits.ts). */
export function serveLimits(args: ServeArgs): ServeLimitsInput {
  const ms = (seconds: number | undefined) => (seconds === undefined ? undefined : Math.round(seconds * 1000));
  const bytes = (mb: number | undefined) => (mb === undefined ? undefined : Math.floor(mb * MIB));
  const limits: Record<string, number | undefined> = {
    maxBodyBytes: bytes(args.maxBodyMb),
    maxImageBytes: bytes(args.maxImageMb),
    maxPixelsPerImage: args.maxPixels,
    maxImagesPerRequest: args.maxImages,
    maxQueuedModel: args.maxQueue,
    maxConcurrentModel: args.maxConcurrent,
    queueTimeoutMs: ms(args.queueTimeoutS),
    requestTimeoutMs: ms(args.requestTimeoutS),
    fetchTimeoutMs: ms(args.fetchTimeoutS),
    maxUploads: args.maxUploads,
    uploadTtlMs: ms(args.uploadTtlS),
    maxOutputTokens: args.maxOutputTokens,
    maxAskSteps: args.maxSteps,
  };
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined)) as ServeLimitsInput;
}

function untilSignal(): Promise<string> {
  return new Promise((resolveSignal) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolveSignal(signal));
  });
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseServeArgs(argv);
  const { serve } = await import("../../http/server.js");
  const log = (line: string) => io.stderr.write(`squint serve: ${line}\n`);
  const { createBackend } = await import("../../runtime/create-backend.js");
  const handle = await serve({
    ...(wantsModel(args)
      ? { backend: () => createBackend({ ...backendOptions(args), onProgress: stderrProgress(io, "squint serve: ") }) }
      : {}),
    warmup: args.warmup,
    ...(args.modelName ? { modelName: args.modelName } : {}),
    ...(args.host ? { host: args.host } : {}),
    ...(args.port === undefined ? {} : { port: args.port }),
    ...(args.token ? { token: args.token } : {}),
    corsOrigins: args.corsOrigin,
    allowPrivateUrls: args.allowPrivateUrls,
    trustedHosts: args.allowUrlHost,
    limits: serveLimits(args),
    log,
  });
  const stopped = untilSignal();
  log(`listening on ${handle.url}${args.token ? " (bearer token required)" : ""}`);
  await stopped;
  await handle.close();
  const { closeDefaultOcrEngine } = await import("../../tools/ocr/ocr-tool.js");
  await closeDefaultOcrEngine();
  return 0;
}

export const serveCommand: Command = {
  name: "serve",
  summary: "serve the grounding API (/v1/locate, /v1/ask) and an OpenAI-compatible /v1/chat/completions over HTTP",
  usage,
  run,
};
