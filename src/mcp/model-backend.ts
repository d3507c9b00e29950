import { request } from "undici";
import { z } from "zod";
import { SquintError } from "../errors.js";
import type { Backend } from "../runtime/backend.js";
import type { RemotePresetName } from "../runtime/remote/presets.js";

/**
 * The model behind `squint mcp --model | --base-url`: the in-process engine for a local model, or an
 * OpenAI-compatible server. Loaded only when asked for, so `squint mcp` without a model starts as fast as before.
 */

export interface ModelFlags {
  /** Hub id (pulled) or model directory, for the local engine. */
  model?: string;
  baseUrl?: string;
  apiKey?: string;
  /** The model's name on the server; looked up from GET /models when the server serves exactly one. */
  modelName?: string;
  preset?: RemotePresetName;
}

export function wantsModel(flags: ModelFlags): boolean {
  return flags.model !== undefined || flags.baseUrl !== undefined || flags.preset !== undefined;
}

const modelListSchema = z.object({ data: z.array(z.object({ id: z.string() })) });

const MODEL_LIST_TIMEOUT_MS = 10_000;

/** The one model an OpenAI-compatible server serves (vLLM and SGLang serve one; Ollama lists what is pulled). */
export async function servedModelName(baseUrl: string, apiKey?: string): Promise<string> {
  const url = `${baseUrl.replace(/\/+$/, "")}/models`;
  let body: unknown;
  try {
    const response = await request(url, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      headersTimeout: MODEL_LIST_TIMEOUT_MS,
      bodyTimeout: MODEL_LIST_TIMEOUT_MS,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200)
      throw new SquintError("BACKEND_FAILED", `HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
    body = JSON.parse(text);
  } catch (error) {
    throw new SquintError("BACKEND_FAILED", `Could not list the models at ${url}: ${(error as Error).message}`, {
      hint: "Check that the server is running at --base-url (the API root, usually ending in /v1), or give --model-name.",
    });
  }
  const parsed = modelListSchema.safeParse(body);
  const ids = parsed.success ? parsed.data.data.map((model) => model.id) : [];
  if (ids.length !== 1) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      ids.length === 0
        ? `${url} lists no models.`
        : `${url} serves ${ids.length} models (${ids.slice(0, 8).join(", ")}); which one is meant?`,
      { hint: "Give --model-name NAME: the model's name on that server." },
    );
  }
  return ids[0] as string;
}

/** Makes the backend the flags ask for; `log` gets load progress (stderr: stdout may be the MCP channel). */
export async function createModelBackend(flags: ModelFlags, log: (line: string) => void): Promise<Backend> {
  if (flags.model !== undefined) {
    let local: typeof import("../runtime/local/index.js");
    try {
      local = await import("../runtime/local/index.js");
    } catch (error) {
      throw new SquintError("MODEL_LOAD_FAILED", `The local engine could not be loaded: ${(error as Error).message}`, {
        hint: "Use --base-url with an OpenAI-compatible server (vLLM, SGLang, Ollama) instead of --model.",
      });
    }
    return local.createLocalBackend({
      model: flags.model,
      onProgress: (event) =>
        log(
          event.stage === "build"
            ? event.message
            : event.stage === "session"
              ? `loading ${event.graph} (${event.provider})`
              : `ready: ${event.name}`,
        ),
    });
  }
  const { createRemoteBackend, remotePresets } = await import("../runtime/remote/index.js");
  const preset = flags.preset ?? "vllm";
  const baseUrl = flags.baseUrl ?? remotePresets[preset].defaultBaseUrl;
  const modelName =
    flags.modelName ?? (baseUrl === undefined ? undefined : await servedModelName(baseUrl, flags.apiKey));
  if (modelName === undefined) {
    throw new SquintError("INVALID_ARGUMENT", `The "${preset}" preset needs --base-url.`, {
      hint: "Give --base-url URL (the API root, usually ending in /v1).",
    });
  }
  const backend = createRemoteBackend({
    ...(flags.baseUrl === undefined ? {} : { baseUrl: flags.baseUrl }),
    ...(flags.apiKey === undefined ? {} : { apiKey: flags.apiKey }),
    model: modelName,
    preset,
  });
  log(`model: ${backend.info.name}`);
  return backend;
}
