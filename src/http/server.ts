import { randomUUID, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import fastifyCors from "@fastify/cors";
import fastifySwagger from "@fastify/swagger";
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { SquintError } from "../errors.js";
import type { OcrFunction } from "../tools/context.js";
import { defaultOcrFunction } from "../tools/ocr/ocr-tool.js";
import { defaultSourcePolicy } from "../tools/sources/policy.js";
import { ImageStore } from "../tools/store/image-store.js";
import { FairQueue } from "./admission.js";
import { errorBody, publicError, statusForCode } from "./error-reply.js";
import { resolveServeLimits, type ServeLimits, type ServeLimitsInput } from "./limits.js";
import { createServeMetrics } from "./metrics.js";
import { type BackendSource, ModelSlot } from "./model-slot.js";
import { UploadTable } from "./request-images.js";
import { registerAskRoute } from "./routes/ask.js";
import { registerChatRoutes } from "./routes/chat-completions.js";
import { registerHealthRoutes } from "./routes/health.js";
import { registerImageRoutes } from "./routes/images.js";
import { registerLocateRoute } from "./routes/locate.js";
import type { ServeApp, ServeContext } from "./serve-context.js";

/**
 * `squint serve`: a Fastify app with the grounding API (/v1/locate, /v1/images, /v1/ask), an
 * OpenAI-compatible /v1/chat/completions and /v1/models over the server's one model, and /health, /ready,
 * /metrics, /openapi.json. Every body is checked by a zod schema (the same schemas make the OpenAPI
 * document); every response carries X-Request-Id; every error is `{ error: { code, message, hint } }`.
 */

export interface ServeOptions {
  /** The model: a Backend, or a function that loads one (the server listens meanwhile; /ready says 503). */
  backend?: BackendSource;
  /** The model id /v1/models lists and responses carry (default: the backend's name). */
  modelName?: string;
  /** Run one short generation before /ready says 200 (default true). */
  warmup?: boolean;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Required bearer token; mandatory when binding to anything but loopback. */
  token?: string;
  /** Browser origins allowed by CORS; none (CORS off) by default. */
  corsOrigins?: readonly string[];
  /** Let image URLs reach loopback/private addresses (unsafe; tests and trusted networks only). */
  allowPrivateUrls?: boolean;
  /** URL hosts trusted although private. */
  trustedHosts?: readonly string[];
  limits?: ServeLimitsInput;
  /** OCR for locate without a model (default: the shared PP-OCR worker). */
  ocr?: OcrFunction;
  /** Log lines (load progress, warnings); default none. */
  log?: (line: string) => void;
  /** Fastify's request log (pino) to stdout. Default off. */
  requestLog?: boolean;
}

export type { ServeApp, ServeContext } from "./serve-context.js";

export const DEFAULT_SERVE_HOST = "127.0.0.1";
export const DEFAULT_SERVE_PORT = 8091;

declare module "fastify" {
  interface FastifyRequest {
    /** Aborts when the client goes away before the response is complete. */
    clientGone: AbortSignal;
  }
}

const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;
const UNAUTHENTICATED = new Set(["/health", "/ready"]);
/** Routes that always need the model (locate may not: its lane is known only from its body). */
const MODEL_ROUTES = new Set(["/v1/chat/completions", "/v1/ask"]);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Routes that answer in OpenAI's error shape. */
function isOpenAiRoute(url: string): boolean {
  return url.startsWith("/v1/chat/") || url.startsWith("/v1/models");
}

/** Fastify's own errors (body parsing, size, media type, schema) as SquintErrors. */
function fromFrameworkError(error: FastifyError, limits: ServeLimits): SquintError | undefined {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation
      .slice(0, 5)
      .map((issue) => `${issue.instancePath.replace(/^\//, "").replaceAll("/", ".") || "body"}: ${issue.message}`)
      .join("; ");
    return new SquintError("INVALID_ARGUMENT", `The request does not match the schema: ${issues}.`, {
      hint: "See /openapi.json for the request shape.",
    });
  }
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new SquintError("REQUEST_TOO_LARGE", `The request body is over ${limits.maxBodyBytes} bytes.`, {
        hint: "Upload large images once with POST /v1/images (or pass an https URL), or raise --max-body-mb.",
      });
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new SquintError("INVALID_ARGUMENT", "The body is not valid JSON.", {
        hint: 'Send a JSON object with "Content-Type: application/json".',
      });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new SquintError("INVALID_ARGUMENT", "Unsupported Content-Type.", {
        hint: 'Send JSON with "Content-Type: application/json".',
      });
    case "FST_ERR_VALIDATION":
      return new SquintError("INVALID_ARGUMENT", error.message, { hint: "See /openapi.json for the request shape." });
    default:
      return undefined;
  }
}

const REJECTION_REASON: Partial<Record<string, string>> = {
  QUEUE_FULL: "queue_full",
  NOT_READY: "not_ready",
  REQUEST_TOO_LARGE: "too_large",
  IMAGE_TOO_LARGE: "too_large",
  UNAUTHORIZED: "unauthorized",
};

export function sendError(
  context: ServeContext,
  request: FastifyRequest,
  reply: FastifyReply,
  error: SquintError,
): FastifyReply {
  const status = statusForCode(error.code);
  const reason = REJECTION_REASON[error.code];
  if (reason) context.metrics.admissionRejections.inc({ reason });
  const retryAfter = error.details?.retryAfterSeconds;
  if (typeof retryAfter === "number") reply.header("retry-after", String(retryAfter));
  if (error.code === "UNAUTHORIZED") reply.header("www-authenticate", 'Bearer error="invalid_token"');
  return reply
    .code(status)
    .type("application/json; charset=utf-8")
    .send(errorBody(error, { openAi: isOpenAiRoute(request.url) }));
}

export async function createServeApp(options: ServeOptions = {}): Promise<{ app: ServeApp; context: ServeContext }> {
  const limits = resolveServeLimits(options.limits);
  const store = new ImageStore({
    maxInputBytes: limits.maxImageBytes,
    maxPixels: limits.maxPixelsPerImage,
    maxStoreBytes: limits.maxStoreBytes,
  });
  const model = new ModelSlot(options.backend, {
    ...(options.warmup === undefined ? {} : { warmup: options.warmup }),
    ...(options.log ? { log: options.log } : {}),
    ...(options.modelName ? { servedName: options.modelName } : {}),
  });
  // The local engine holds one conversation's KV cache: one generation at a time unless told otherwise.
  const modelConcurrency = limits.maxConcurrentModel ?? 1;
  const lanes = {
    model: new FairQueue({
      name: "the model",
      concurrency: modelConcurrency,
      maxQueued: limits.maxQueuedModel,
      queueTimeoutMs: limits.queueTimeoutMs,
    }),
    ocr: new FairQueue({
      name: "OCR",
      concurrency: limits.maxConcurrentOcr,
      maxQueued: limits.maxQueuedOcr,
      queueTimeoutMs: limits.queueTimeoutMs,
    }),
  };
  const metrics = createServeMetrics(lanes, () => model.name);
  let ocr = options.ocr;
  const context: ServeContext = {
    limits,
    store,
    uploads: new UploadTable(store, { maxUploads: limits.maxUploads, ttlMs: limits.uploadTtlMs }),
    policy: defaultSourcePolicy({
      allowPrivateUrls: options.allowPrivateUrls ?? false,
      trustedHosts: options.trustedHosts ?? [],
      maxBytes: limits.maxImageBytes,
      fetchTimeoutMs: limits.fetchTimeoutMs,
    }),
    model,
    lanes,
    metrics,
    ocr: () => {
      ocr ??= defaultOcrFunction();
      return ocr;
    },
    startedAt: Date.now(),
  };

  const app = Fastify({
    logger: options.requestLog ? { level: "info" } : false,
    bodyLimit: limits.maxBodyBytes,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    return503OnClosing: true,
    // close() ends keep-alive sockets too, so a stopping server does not wait for idle clients.
    forceCloseConnections: true,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest("clientGone", undefined as unknown as AbortSignal);

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: "Squint serve",
        description:
          "Visual grounding (locate), visual question answering with tools (ask), image uploads, and an OpenAI-compatible chat completions endpoint over Squint's model.",
        version: "1",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: options.token ? [{ bearer: [] }] : [],
    },
    transform: jsonSchemaTransform,
  });
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    await app.register(fastifyCors, {
      origin: [...options.corsOrigins],
      exposedHeaders: ["x-request-id", "retry-after"],
    });
  }

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    const controller = new AbortController();
    request.clientGone = controller.signal;
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) controller.abort(new SquintError("ABORTED", "The client went away."));
    });
    if (options.token !== undefined && !UNAUTHENTICATED.has(request.url.split("?")[0]!)) {
      if (!tokenMatches(request.headers.authorization, options.token)) {
        const missing = request.headers.authorization === undefined;
        return sendError(
          context,
          request,
          reply,
          new SquintError("UNAUTHORIZED", missing ? "A bearer token is required." : "The bearer token is wrong.", {
            hint: 'Send "Authorization: Bearer <token>" with the token the server was started with.',
          }),
        );
      }
    }
    // A full model queue refuses chat and ask before their bodies are even read: under a flood of clients
    // that do not back off, the refusals must cost next to nothing, or they starve the generation itself.
    const path = request.url.split("?")[0]!;
    if (request.method === "POST" && MODEL_ROUTES.has(path) && model.status === "ready" && lanes.model.full) {
      return sendError(context, request, reply, lanes.model.fullError());
    }
    return undefined;
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.httpRequests.inc({ route, status: String(reply.statusCode) });
    metrics.e2eLatency.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = fromFrameworkError(error, limits);
    return sendError(context, request, reply, known ?? publicError(error));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      context,
      request,
      reply,
      new SquintError("NOT_FOUND", `No route ${request.method} ${request.url.split("?")[0]}.`, {
        hint: "See /openapi.json for the routes.",
      }),
    ),
  );

  registerHealthRoutes(app, context);
  registerImageRoutes(app, context);
  registerLocateRoute(app, context);
  registerAskRoute(app, context);
  registerChatRoutes(app, context);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  return { app, context };
}

export interface ServeHandle {
  /** e.g. http://127.0.0.1:8091 */
  url: string;
  app: ServeApp;
  context: ServeContext;
  close(): Promise<void>;
}

/** Creates the app and listens. Refuses a non-loopback bind without a token. */
export async function serve(options: ServeOptions = {}): Promise<ServeHandle> {
  const host = options.host ?? DEFAULT_SERVE_HOST;
  if (!isLoopbackHost(host) && !options.token) {
    throw new SquintError("INVALID_ARGUMENT", `Refusing to serve on ${host} without a token.`, {
      hint: "Anyone who can reach that address could use the model and make the server fetch URLs: add --token (or SQUINT_SERVE_TOKEN), or bind to 127.0.0.1.",
    });
  }
  const { app, context } = await createServeApp(options);
  try {
    await app.listen({ host, port: options.port ?? DEFAULT_SERVE_PORT });
  } catch (error) {
    await app.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new SquintError("ADDRESS_IN_USE", `Port ${options.port} on ${host} is already in use.`, {
        hint: "Pick another --port (0 picks a free one).",
      });
    }
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    app,
    context,
    async close() {
      await app.close();
      context.uploads.clear();
      await context.model.loaded;
      if (context.model.ownsBackend) await context.model.backend?.close();
    },
  };
}
