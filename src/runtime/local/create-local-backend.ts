import type { BuildDtype } from "../../model/graph/contract.js";
import type { Backend } from "../backend.js";
import { resolveModel } from "../models/resolve-model.js";
import { DEFAULT_MODEL } from "../models/store-paths.js";
import { type EngineGraph, type EngineOptions, LocalEngine } from "./engine.js";
import type { ExecutionProviderChoice } from "./execution-provider.js";
import { LocalBackend } from "./local-backend.js";
import { loadModelFiles } from "./model-files.js";

/**
 * The in-process backend for the agent and `squint ask --model`: resolves the model argument (Hub id that
 * was pulled, checkpoint directory, built directory), loads the three graphs on the chosen execution
 * provider (falling back to CPU with a log line), and returns a Backend.
 */

export type LoadProgress =
  | { stage: "build"; message: string }
  | { stage: "session"; graph: EngineGraph; provider: string }
  | { stage: "ready"; name: string };

export interface CreateLocalBackendOptions {
  /** Hub id (pulled), checkpoint directory or built directory. Default: DEFAULT_MODEL. */
  model?: string;
  executionProvider?: ExecutionProviderChoice;
  /** Weight storage to use or build for a Hub id / checkpoint directory (default int4). */
  dtype?: BuildDtype;
  revision?: string;
  /** Thinking edition? Default: read from the chat template, else from the name. */
  thinking?: boolean;
  /** KV-cache bound in bytes (default 4 GiB): requests past it fail with OUT_OF_MEMORY_BUDGET. */
  maxCacheBytes?: number;
  threads?: number;
  prefillChunkTokens?: number;
  /** Model store root (default $SQUINT_HOME, $XDG_CACHE_HOME/squint or ~/.cache/squint). */
  home?: string;
  /** Where the checkpoint's config.json and tokenizer are, for a built directory that lacks them. */
  checkpointDir?: string;
  onProgress?: (event: LoadProgress) => void;
  log?: EngineOptions["log"];
}

/** A Thinking template's generation prompt pre-opens `<think>` right after the assistant header (spec §5). */
export function templateIsThinking(template: string | undefined): boolean | undefined {
  if (template === undefined) return undefined;
  return /<\|im_start\|>assistant(\\n|\n)<think>(\\n|\n)/.test(template);
}

export async function createLocalBackend(options: CreateLocalBackendOptions = {}): Promise<LocalBackend & Backend> {
  const model = options.model ?? DEFAULT_MODEL;
  const resolved = await resolveModel(model, {
    dtype: options.dtype,
    revision: options.revision,
    home: options.home,
    onProgress: options.onProgress,
  });
  const files = await loadModelFiles(resolved.builtDir, options.checkpointDir);
  const engine = await LocalEngine.open(files, {
    executionProvider: options.executionProvider,
    threads: options.threads,
    maxCacheBytes: options.maxCacheBytes,
    prefillChunkTokens: options.prefillChunkTokens,
    log: options.log,
    onProgress: options.onProgress,
  });
  const thinking =
    options.thinking ?? templateIsThinking(files.tokenizer.chatTemplate) ?? /thinking/i.test(resolved.name);
  const providers = [...new Set(Object.values(engine.providers))].join("+");
  const backend = new LocalBackend(engine, {
    name: `local:${resolved.name} (${files.manifest.dtype}, ${providers})`,
    thinking,
    minPixels: files.preprocessor.minPixels,
    maxPixels: files.preprocessor.maxPixels,
  });
  options.onProgress?.({ stage: "ready", name: backend.info.name });
  return backend;
}
