import { Agent, type Dispatcher, request } from "undici";
import { z } from "zod";
import { isSquintError, SquintError } from "../../errors.js";
import { DEFAULT_PREPROCESSOR_CONFIG } from "../../model/config.js";
import type { ImagePart } from "../../model/messages.js";
import { resolveSampling, type SamplingOptions } from "../../model/sampling.js";
import type { RawImage } from "../../model/vision.js";
import type { Backend, BackendEvent, BackendInfo, GenerateRequest } from "../backend.js";
import { DeltaInterpreter } from "./delta.js";
import { redactError, serverAddress } from "./credentials.js";
import { encodeImageForModel } from "./image-encoding.js";
import { type RemotePreset, type RemotePresetName, remotePresets } from "./presets.js";
import { buildChatRequest } from "./request.js";
import { isRetryableNetworkError, parseRetryAfter, RETRYABLE_STATUSES, retryDelay, sleep } from "./retry.js";
import { readServerSentEvents } from "./sse.js";

/**
 * Qwen3-VL on a serving engine (vLLM, SGLang, Ollama, DashScope, any OpenAI-compatible endpoint), through
 * streaming `POST {baseUrl}/chat/completions`. Images are resized to the model's own size before they are
 * sent; replies are read with the model's own reply parser; failures before the reply begins are retried.
 */

export const remoteBackendOptionsSchema = z.object({
  /** e.g. http://localhost:8000/v1; defaults to the preset's usual address. */
  baseUrl: z
    .string()
    .url()
    .refine((url) => /^https?:\/\//i.test(url), "baseUrl must be an http(s) URL")
    .optional(),
  apiKey: z.string().min(1).optional(),
  /** The model name the server knows (vLLM: the served model name). */
  model: z.string().min(1),
  preset: z.enum(["vllm", "sglang", "ollama", "dashscope", "openai"]).default("vllm"),
  /** Thinking edition? Default: the model name contains "Thinking". */
  thinking: z.boolean().optional(),
  /** The pixel budget of the server's processor (HF defaults: 65 536 – 16 777 216). */
  minPixels: z.number().int().positive().optional(),
  maxPixels: z.number().int().positive().optional(),
  imageFormat: z.enum(["jpeg", "png"]).default("jpeg"),
  /** "native": send `tools` (needs a tool-call parser on the server); "prompt": write them into the system turn. */
  toolMode: z.enum(["native", "prompt"]).default("native"),
  /** Whether the server separates reasoning into its own field; "auto" works it out from the stream. */
  serverSplitsReasoning: z.union([z.boolean(), z.literal("auto")]).default("auto"),
  /** Take `<tool_call>` blocks that end the reasoning as calls when the reply has nothing else. */
  callsFromReasoning: z.boolean().default(true),
  /** Fill unset sampling fields with Qwen3-VL's recommended values for the edition (spec §8). */
  recommendedSampling: z.boolean().default(true),
  retry: z
    .object({
      retries: z.number().int().min(0).max(10).optional(),
      baseDelayMs: z.number().min(0).optional(),
      maxDelayMs: z.number().min(0).optional(),
    })
    .default({}),
  timeouts: z
    .object({
      connectMs: z.number().int().positive().optional(),
      /** Until the response headers arrive. */
      headersMs: z.number().int().positive().optional(),
      /** Longest silence while the reply streams (prefill of a large image counts). */
      idleMs: z.number().int().positive().optional(),
    })
    .default({}),
  headers: z.record(z.string(), z.string()).optional(),
  /** Longest streamed event in characters (default 16 Mi); a longer one fails the turn with BACKEND_FAILED. */
  maxEventChars: z.number().int().positive().optional(),
  /** Merged into every request body (server-specific options). */
  extraBody: z.record(z.string(), z.unknown()).optional(),
});

export type RemoteBackendOptions = z.input<typeof remoteBackendOptionsSchema>;

const IMAGE_CACHE_SIZE = 32;

export function createRemoteBackend(input: RemoteBackendOptions): Backend {
  const parsed = remoteBackendOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SquintError(
      "INVALID_CONFIG",
      `Invalid remote backend options: ${issue?.path.join(".")} ${issue?.message}`,
      {
        hint: 'Give at least {"model": "<served model name>"}, and a baseUrl such as http://localhost:8000/v1.',
      },
    );
  }
  return new RemoteBackend(parsed.data);
}

type ParsedOptions = z.output<typeof remoteBackendOptionsSchema>;

class RemoteBackend implements Backend {
  readonly info: BackendInfo;
  private readonly url: string;
  private readonly basicAuthorization: string | undefined;
  /** What must never be shown: the API key and the URL's credentials (credentials.ts). */
  private readonly secrets: string[];
  private readonly preset: RemotePreset;
  private readonly dispatcher: Agent;
  private readonly images = new Map<string, Promise<string>>();
  private closed = false;

  constructor(private readonly options: ParsedOptions) {
    this.preset = remotePresets[options.preset as RemotePresetName];
    const baseUrl = options.baseUrl ?? this.preset.defaultBaseUrl;
    if (baseUrl === undefined) {
      throw new SquintError("INVALID_CONFIG", `The "${options.preset}" preset has no default address.`, {
        hint: "Give baseUrl, e.g. https://api.example.com/v1.",
      });
    }
    if (this.preset.needsApiKey && options.apiKey === undefined) {
      throw new SquintError("INVALID_CONFIG", `The "${options.preset}" server needs an API key.`, {
        hint: options.preset === "dashscope" ? "Pass apiKey (your DASHSCOPE_API_KEY)." : "Pass apiKey.",
      });
    }
    // The URL's credentials become a header; this.url (the only URL ever shown) has none.
    const address = serverAddress(baseUrl);
    this.basicAuthorization = address.basicAuthorization;
    this.secrets = [...address.secrets, ...(options.apiKey === undefined ? [] : [options.apiKey])];
    this.url = `${address.url.replace(/\/+$/, "")}/chat/completions`;
    this.info = {
      name: `remote:${options.preset} ${address.url} (${options.model})`,
      thinking: options.thinking ?? /thinking/i.test(options.model),
      minPixels: options.minPixels ?? DEFAULT_PREPROCESSOR_CONFIG.minPixels,
      maxPixels: options.maxPixels ?? DEFAULT_PREPROCESSOR_CONFIG.maxPixels,
    };
    this.dispatcher = new Agent({
      connectTimeout: options.timeouts.connectMs ?? 10_000,
      headersTimeout: options.timeouts.headersMs ?? 60_000,
      bodyTimeout: options.timeouts.idleMs ?? 300_000,
    });
  }

  async *generate(generation: GenerateRequest): AsyncGenerator<BackendEvent> {
    try {
      yield* this.generateOnce(generation);
    } catch (error) {
      // A server's error text may quote the key it refused: nothing thrown from here carries a secret.
      throw isSquintError(error) && this.secrets.length > 0 ? redactError(error, this.secrets) : error;
    }
  }

  private async *generateOnce(generation: GenerateRequest): AsyncGenerator<BackendEvent> {
    if (this.closed) {
      throw new SquintError("BACKEND_FAILED", "The remote backend was closed.", { hint: "Create a new backend." });
    }
    const signal = generation.signal;
    const thinking = generation.thinking ?? this.info.thinking;
    const sampling: Partial<SamplingOptions> = this.options.recommendedSampling
      ? resolveSampling(thinking, generation.sampling)
      : (generation.sampling ?? {});
    const body = await buildChatRequest({
      model: this.options.model,
      messages: generation.messages,
      tools: generation.tools,
      ...(generation.toolChoice ? { toolChoice: generation.toolChoice } : {}),
      toolMode: this.options.toolMode,
      thinking,
      sampling,
      maxOutputTokens: generation.maxOutputTokens,
      preset: this.preset,
      imageUrl: (part) => this.imageUrl(part, generation.resolveImage),
      extraBody: this.options.extraBody,
    });
    const payload = JSON.stringify(body);
    const retries = this.options.retry.retries ?? 3;

    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) {
        yield { type: "finish", reason: "aborted" };
        return;
      }
      let response: Dispatcher.ResponseData;
      try {
        response = await request(this.url, {
          method: "POST",
          headers: this.headers(),
          body: payload,
          dispatcher: this.dispatcher,
          signal,
        });
      } catch (error) {
        if (signal?.aborted) {
          yield { type: "finish", reason: "aborted" };
          return;
        }
        if (attempt < retries && isRetryableNetworkError(error)) {
          if (!(await this.wait(attempt, undefined, signal))) {
            yield { type: "finish", reason: "aborted" };
            return;
          }
          continue;
        }
        throw this.connectionError(error, attempt);
      }

      if (response.statusCode < 200 || response.statusCode >= 300) {
        const text = await readLimited(response.body, 8192);
        if (attempt < retries && RETRYABLE_STATUSES.has(response.statusCode)) {
          if (!(await this.wait(attempt, parseRetryAfter(response.headers["retry-after"]), signal))) {
            yield { type: "finish", reason: "aborted" };
            return;
          }
          continue;
        }
        throw this.statusError(response.statusCode, text, attempt);
      }

      const interpreter = new DeltaInterpreter({
        thinking,
        serverSplitsReasoning: this.options.serverSplitsReasoning,
        callsFromReasoning: this.options.callsFromReasoning,
      });
      let yielded = false;
      let done = false;
      try {
        const contentType = String(response.headers["content-type"] ?? "");
        if (contentType.includes("application/json")) {
          // A server that ignored `stream: true` answers with one whole completion.
          for (const event of interpreter.push(completionAsChunk(await response.body.json()))) yield event;
          yielded = true;
          done = true;
        } else if (!contentType.includes("text/event-stream")) {
          const text = await readLimited(response.body, 512);
          throw new SquintError(
            "BACKEND_FAILED",
            `POST ${this.url} answered ${contentType || "no content type"}, not an event stream: ${text.slice(0, 200)}`,
            {
              hint: "baseUrl must point at an OpenAI-compatible API root (usually ending in /v1).",
              details: { url: this.url, contentType },
            },
          );
        } else {
          for await (const event of readServerSentEvents(response.body, {
            ...(this.options.maxEventChars === undefined ? {} : { maxEventChars: this.options.maxEventChars }),
          })) {
            if (event.data === "[DONE]") {
              done = true;
              break;
            }
            if (event.data.trim() === "") continue;
            for (const backendEvent of interpreter.push(parseData(event.data, this.url))) {
              yielded = true;
              yield backendEvent;
            }
          }
        }
      } catch (error) {
        if (signal?.aborted) {
          yield { type: "finish", reason: "aborted" };
          return;
        }
        if (isSquintError(error)) throw error;
        if (!yielded && attempt < retries && isRetryableNetworkError(error)) {
          if (!(await this.wait(attempt, undefined, signal))) {
            yield { type: "finish", reason: "aborted" };
            return;
          }
          continue;
        }
        throw this.droppedError(error, yielded);
      } finally {
        response.body.destroy();
      }
      if (!done && !interpreter.finished) {
        if (!yielded && attempt < retries) {
          if (!(await this.wait(attempt, undefined, signal))) {
            yield { type: "finish", reason: "aborted" };
            return;
          }
          continue;
        }
        throw this.droppedError(undefined, yielded);
      }
      yield* interpreter.end();
      return;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.images.clear();
    await this.dispatcher.close();
  }

  private headers(): Record<string, string> {
    return {
      "content-type": "application/json",
      accept: "text/event-stream",
      ...(this.options.apiKey
        ? { authorization: `Bearer ${this.options.apiKey}` }
        : this.basicAuthorization
          ? { authorization: this.basicAuthorization }
          : {}),
      ...this.options.headers,
    };
  }

  /** Waits before the next attempt; false if aborted meanwhile. */
  private async wait(attempt: number, retryAfterMs: number | undefined, signal?: AbortSignal): Promise<boolean> {
    try {
      await sleep(retryDelay(attempt, this.options.retry, retryAfterMs), signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Data URL of an image at the model's size; recent ones are kept, as each turn resends the whole conversation. */
  private imageUrl(part: ImagePart, resolveImage: (reference: string) => Promise<RawImage>): Promise<string> {
    const minPixels = part.minPixels ?? this.info.minPixels;
    const maxPixels = part.maxPixels ?? this.info.maxPixels;
    const key = `${part.image}\u0000${minPixels}\u0000${maxPixels}`;
    let cached = this.images.get(key);
    if (cached) {
      this.images.delete(key);
      this.images.set(key, cached);
      return cached;
    }
    cached = resolveImage(part.image).then(
      async (image) =>
        (await encodeImageForModel(image, { minPixels, maxPixels, format: this.options.imageFormat })).dataUrl,
    );
    this.images.set(key, cached);
    cached.catch(() => this.images.delete(key));
    while (this.images.size > IMAGE_CACHE_SIZE) this.images.delete(this.images.keys().next().value as string);
    return cached;
  }

  private connectionError(error: unknown, attempt: number): SquintError {
    const reason = describeNetworkError(error);
    return new SquintError(
      "BACKEND_FAILED",
      `Cannot reach ${this.url}: ${reason}${attempt > 0 ? ` (after ${attempt + 1} attempts)` : ""}`,
      {
        hint: `Check that the ${this.options.preset} server is running and that baseUrl is right.`,
        details: { url: this.url, attempts: attempt + 1 },
        cause: error,
      },
    );
  }

  private statusError(status: number, body: string, attempt: number): SquintError {
    const serverMessage = errorMessageOf(body);
    const message = `POST ${this.url} answered ${status}${serverMessage ? `: ${serverMessage}` : ""}${attempt > 0 ? ` (after ${attempt + 1} attempts)` : ""}`;
    const details = { url: this.url, status, attempts: attempt + 1 };
    if (status === 401 || status === 403) {
      return new SquintError("UNAUTHORIZED", message, { hint: "Check apiKey (sent as a Bearer token).", details });
    }
    let hint = "See the server's log for the cause.";
    if (status === 404)
      hint = `Check baseUrl (the API root, usually ending in /v1) and the model name "${this.options.model}" (GET ${this.url.replace(/\/chat\/completions$/, "/models")} lists them).`;
    else if (status === 413) hint = "The request is too large: lower maxPixels or send fewer images.";
    else if (/tool.?choice|tool-call-parser|enable-auto-tool-choice/i.test(serverMessage)) {
      hint = 'Start vLLM with --enable-auto-tool-choice --tool-call-parser hermes, or use toolMode: "prompt".';
    } else if (status === 400 || status === 422) hint = "The server refused the request; its message says why.";
    else if (status === 429 || status >= 500) hint = "The server is overloaded or failing; try again later.";
    return new SquintError("BACKEND_FAILED", message, { hint, details });
  }

  private droppedError(error: unknown, began: boolean): SquintError {
    const reason = error === undefined ? "the stream ended without finishing the reply" : describeNetworkError(error);
    const timedOut = (error as { code?: unknown } | undefined)?.code === "UND_ERR_BODY_TIMEOUT";
    return new SquintError("BACKEND_FAILED", `The reply from ${this.url} was cut off: ${reason}`, {
      hint: timedOut
        ? "The server went silent for longer than timeouts.idleMs (a large prompt's prefill counts); raise it."
        : began
          ? "The server dropped the connection mid-reply; the partial reply was not retried so nothing is repeated. Ask again."
          : "The server closed the connection before answering; check its log.",
      details: { url: this.url, partial: began },
      cause: error,
    });
  }
}

function parseData(data: string, url: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    throw new SquintError("BACKEND_FAILED", `${url} streamed data that is not JSON: ${data.slice(0, 120)}`, {
      hint: "baseUrl must point at an OpenAI-compatible chat completions API.",
    });
  }
}

const completionSchema = z
  .object({
    choices: z
      .array(
        z
          .object({
            message: z.record(z.string(), z.unknown()).nullish(),
            finish_reason: z.string().nullish(),
          })
          .loose(),
      )
      .default([]),
    usage: z.unknown().optional(),
  })
  .loose();

/** A non-streamed completion in the shape of one streamed chunk. */
function completionAsChunk(value: unknown): unknown {
  const parsed = completionSchema.safeParse(value);
  if (!parsed.success) return value;
  return {
    choices: parsed.data.choices.map((choice, index) => {
      const message = choice.message ?? {};
      const calls = Array.isArray(message.tool_calls)
        ? message.tool_calls.map((call: unknown, position: number) => ({ index: position, ...(call as object) }))
        : undefined;
      return { index, delta: { ...message, tool_calls: calls }, finish_reason: choice.finish_reason ?? "stop" };
    }),
    usage: parsed.data.usage,
  };
}

async function readLimited(
  body: AsyncIterable<Uint8Array | string> & { destroy(): unknown },
  limit: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk);
      chunks.push(buffer);
      size += buffer.length;
      if (size >= limit) break;
    }
  } catch {
    // An error body that cannot be read is reported by its status alone.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).toString("utf8").slice(0, limit);
}

/** The message in an error body: OpenAI/Ollama `{error: {message}}`, vLLM `{message}`, FastAPI `{detail}`. */
export function errorMessageOf(body: string): string {
  const text = body.trim();
  if (text === "") return "";
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const error = value.error;
    if (typeof error === "string") return error;
    if (error && typeof error === "object" && typeof (error as { message?: unknown }).message === "string") {
      return (error as { message: string }).message;
    }
    if (typeof value.message === "string") return value.message;
    if (typeof value.detail === "string") return value.detail;
  } catch {
    // Not JSON: plain text or HTML, shown shortened below.
  }
  return text.replace(/\s+/g, " ").slice(0, 300);
}

function describeNetworkError(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    const message = current instanceof Error ? current.message : String(current);
    parts.push(typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message);
    current = (current as { cause?: unknown }).cause;
  }
  return [...new Set(parts)].join(": ") || "unknown error";
}
