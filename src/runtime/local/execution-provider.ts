import { existsSync, readdirSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { z } from "zod";
import { SquintError } from "../../errors.js";

/**
 * Which ONNX Runtime execution provider runs the graphs. `auto` prefers a real GPU: CUDA when ORT's CUDA
 * build is installed (`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`), then WebGPU when a
 * hardware adapter is likely, else CPU. A provider that fails to load never crashes the caller: the next one
 * is tried and a single line says why.
 */
export const executionProviderSchema = z.enum(["auto", "webgpu", "cuda", "cpu"]);
export type ExecutionProviderChoice = z.infer<typeof executionProviderSchema>;
export type ExecutionProvider = Exclude<ExecutionProviderChoice, "auto">;

export type EngineLog = (line: string) => void;

/**
 * On Linux a GPU shows up as a DRM render node, an NVIDIA device node or WSL's /dev/dxg. Without one, a
 * WebGPU adapter can only be a software rasteriser (Mesa's lavapipe), which is far slower than the CPU
 * provider, so `auto` does not pick it (asking for `webgpu` explicitly still uses it).
 */
export function hardwareGpuLikely(platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== "linux") return true;
  if (existsSync("/dev/nvidia0") || existsSync("/dev/dxg")) return true;
  try {
    return readdirSync("/dev/dri").some((name) => name.startsWith("renderD"));
  } catch {
    return false;
  }
}

/** Whether this onnxruntime-node build can reach the provider at all (CUDA needs the CUDA build). */
function providerListed(provider: ExecutionProvider): boolean {
  if (provider === "cpu") return true;
  return ort.listSupportedBackends().some((backend) => backend.name === provider);
}

/** The providers to try, best first; CPU always closes the list. */
export function providerCandidates(
  choice: ExecutionProviderChoice,
  gpuLikely = hardwareGpuLikely(),
): ExecutionProvider[] {
  if (choice === "cpu") return ["cpu"];
  if (choice === "auto") {
    const candidates: ExecutionProvider[] = [];
    if (gpuLikely && providerListed("cuda")) candidates.push("cuda");
    if (gpuLikely && providerListed("webgpu")) candidates.push("webgpu");
    candidates.push("cpu");
    return candidates;
  }
  return [choice, "cpu"];
}

export interface OpenedSession {
  session: ort.InferenceSession;
  provider: ExecutionProvider;
}

export interface SessionRequest {
  path: string;
  /** Outputs to keep on the device (WebGPU only: the KV cache). */
  deviceOutputs?: readonly string[] | undefined;
  threads?: number | undefined;
  /**
   * Let idle intra-op threads spin between runs (ORT's default). Off for the small graphs: their spinning
   * threads would compete for the cores with the decoder run that follows them.
   */
  spinning?: boolean | undefined;
}

function sessionOptions(provider: ExecutionProvider, request: SessionRequest): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
    ...(request.threads === undefined ? {} : { intraOpNumThreads: request.threads }),
    ...(request.spinning === false ? { extra: { session: { intra_op: { allow_spinning: "0" } } } } : {}),
  };
  if (provider === "webgpu" && request.deviceOutputs && request.deviceOutputs.length > 0) {
    const keep = new Set(request.deviceOutputs);
    // Outputs not named stay on the CPU (logits must be read every step).
    options.preferredOutputLocation = Object.fromEntries([...keep].map((name) => [name, "gpu-buffer" as const]));
  }
  return options;
}

/**
 * Opens one graph on the first provider of `candidates` that loads it. Every failure before the last is
 * logged as one line; if even the last fails the error says which file and what to do.
 */
export async function openSession(
  candidates: readonly ExecutionProvider[],
  request: SessionRequest,
  log: EngineLog,
): Promise<OpenedSession> {
  let lastError: unknown;
  for (const [index, provider] of candidates.entries()) {
    try {
      const session = await ort.InferenceSession.create(request.path, sessionOptions(provider, request));
      return { session, provider };
    } catch (error) {
      lastError = error;
      const next = candidates[index + 1];
      if (next !== undefined) {
        log(
          `squint: the ${provider} execution provider could not load ${basenameOf(request.path)} (${firstLine(error)}); falling back to ${next}.`,
        );
      }
    }
  }
  throw new SquintError("MODEL_LOAD_FAILED", `ONNX Runtime could not load ${request.path}: ${firstLine(lastError)}`, {
    hint: "Rebuild the model with `squint models build` (or pull it again); the file may be truncated or from another Squint version.",
    cause: lastError,
  });
}

function basenameOf(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]?.slice(0, 300) ?? text;
}
