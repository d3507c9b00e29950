import { SquintError } from "../errors.js";
import type { Backend } from "./backend.js";
import type { RemotePresetName } from "./remote/presets.js";

/**
 * The one way from "which model" to a Backend, shared by every command (ask, mcp, serve, eval) and the SDK
 * (`createAgent({ model: "<id or dir>" })`), so that the same options mean the same thing everywhere:
 * a server when `baseUrl` or `preset` is given, else the in-process engine on `model` (or the default model).
 * Each engine is imported only when chosen: the local one loads ONNX Runtime, which a remote user never needs.
 */

export interface CreateBackendOptions {
  /** Hub id (pulled), checkpoint directory or built directory, for the in-process engine. Default: DEFAULT_MODEL. */
  model?: string | undefined;
  /** An OpenAI-compatible server's API root (usually ending in /v1); default: the preset's usual address. */
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  /** The model's name on the server; looked up from GET /models when the server serves exactly one. */
  modelName?: string | undefined;
  /** Which kind of server (default vllm): its default address, sampling fields and thinking switch. */
  preset?: RemotePresetName | undefined;
  /** The server's processor pixel budget (vLLM --mm-processor-kwargs), for visual-token accounting. */
  minPixels?: number | undefined;
  maxPixels?: number | undefined;
  /** One line per loading stage (building, opening each graph, ready; or the server's model). */
  onProgress?: BackendProgressReporter | undefined;
}

export interface BackendProgress {
  stage: "build" | "session" | "ready";
  message: string;
}

export type BackendProgressReporter = (progress: BackendProgress) => void;

/** Whether the options name a server (rather than the in-process engine). */
export function usesServer(options: Pick<CreateBackendOptions, "baseUrl" | "preset">): boolean {
  return options.baseUrl !== undefined || options.preset !== undefined;
}

export async function createBackend(options: CreateBackendOptions = {}): Promise<Backend> {
  if (options.model !== undefined && usesServer(options)) {
    throw new SquintError("INVALID_ARGUMENT", "Give either a local model or a server (base URL / preset), not both.", {
      hint: "--model (model) runs a checkpoint in-process; --base-url (baseUrl) uses an OpenAI-compatible server.",
    });
  }
  return usesServer(options) ? createServerBackend(options) : createInProcessBackend(options);
}

async function createInProcessBackend(options: CreateBackendOptions): Promise<Backend> {
  let local: typeof import("./local/index.js");
  try {
    local = await import("./local/index.js");
  } catch (error) {
    throw new SquintError("MODEL_LOAD_FAILED", `The local engine could not be loaded: ${(error as Error).message}`, {
      hint: "Use an OpenAI-compatible server (--base-url) instead of the in-process engine.",
    });
  }
  const report = options.onProgress;
  return local.createLocalBackend({
    ...(options.model === undefined ? {} : { model: options.model }),
    ...(report
      ? {
          onProgress: (event) =>
            report(
              event.stage === "build"
                ? { stage: "build", message: event.message }
                : event.stage === "session"
                  ? { stage: "session", message: `loading ${event.graph} (${event.provider})` }
                  : { stage: "ready", message: `ready: ${event.name}` },
            ),
        }
      : {}),
  });
}

async function createServerBackend(options: CreateBackendOptions): Promise<Backend> {
  const { createRemoteBackend, remotePresets } = await import("./remote/index.js");
  const { servedModelName } = await import("./remote/served-model.js");
  const preset = options.preset ?? "vllm";
  const baseUrl = options.baseUrl ?? remotePresets[preset].defaultBaseUrl;
  if (baseUrl === undefined) {
    throw new SquintError("INVALID_ARGUMENT", `The "${preset}" preset has no default address.`, {
      hint: "Give the server's API root: --base-url URL (baseUrl), usually ending in /v1.",
    });
  }
  const modelName = options.modelName ?? (await servedModelName(baseUrl, options.apiKey));
  const backend = createRemoteBackend({
    baseUrl,
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    ...(options.minPixels === undefined ? {} : { minPixels: options.minPixels }),
    ...(options.maxPixels === undefined ? {} : { maxPixels: options.maxPixels }),
    model: modelName,
    preset,
  });
  options.onProgress?.({ stage: "ready", message: `model: ${backend.info.name}` });
  return backend;
}
