import { SquintError } from "../errors.js";
import type { McpServerConfig } from "../mcp/client/mcp-json.js";
import type { SamplingOptions } from "../model/sampling.js";
import type { Backend } from "../runtime/backend.js";
import { createBackend } from "../runtime/create-backend.js";
import type { SourcePolicy } from "../tools/sources/policy.js";
import type { ImageStore } from "../tools/store/image-store.js";
import type { SquintTool } from "../tools/tool.js";
import type { ResolvedBudget } from "./context.js";
import type { AgentImageInput } from "./image-input.js";
import type { PrepareStep, StopCondition } from "./services.js";

/**
 * What `createAgent` and `agent.run` accept, their defaults, and the checks that turn them into what a run uses
 * (the budget with its step count, the model as a Backend).
 */

export interface BudgetOptions {
  /**
   * Wall time for the whole run, across resumes. Default 10 minutes, so a server that trickles out events never
   * keeps a run alive forever; null for none.
   */
  maxWallTimeMs: number | null;
  /** Visual tokens (the model's own count) the conversation may hold; older crops are shrunk, then dropped. */
  maxVisualTokens: number | null;
  /** Pixel cap of a shrunk image. Default 64·32² (64 visual tokens). */
  shrinkPixels: number;
  /** Consecutive failed tool calls that end the run as failed. Default 3. */
  maxConsecutiveToolFailures: number;
  /** Per tool call. Default 60 s. */
  toolTimeoutMs: number;
  /**
   * Characters of reasoning plus answer one model turn may stream before it is cut (BUDGET_EXCEEDED). Default
   * 400 000 (about 100k tokens, well past Qwen3-VL's longest thinking): a server that never stops, or ignores
   * max_tokens, ends the run with a clear error instead of exhausting memory.
   */
  maxReplyChars: number;
}

export const DEFAULT_BUDGET: BudgetOptions = {
  maxWallTimeMs: 600_000,
  maxVisualTokens: 24_576,
  shrinkPixels: 64 * 32 * 32,
  maxConsecutiveToolFailures: 3,
  toolTimeoutMs: 60_000,
  maxReplyChars: 400_000,
};

export const DEFAULT_SYSTEM_PROMPT =
  "You are a helpful assistant that looks closely at images. Images are numbered from 0 in the order they appear " +
  "in the conversation (img_idx); every image a tool returns gets the next number. Use the tools to zoom in on " +
  "details you cannot read or see clearly, then answer.";

/** Tool-using steps when `stopWhen` has no `stepCountIs(n)`: a run is always bounded. */
export const DEFAULT_STEP_COUNT = 8;

export interface CreateAgentOptions {
  /**
   * The model: a Backend (e.g. createRemoteBackend, or createBackend for a server), or a pulled Hub id,
   * checkpoint or built directory, run by the in-process ONNX engine (createBackend({ model })).
   */
  model: string | Backend;
  /** Built-in tools served by the in-process MCP server. Default: all of them (builtinTools()). */
  tools?: readonly SquintTool[];
  /** mcp.json path, or server configs: more tools from external MCP servers. */
  mcp?: string | McpServerConfig[];
  budget?: Partial<BudgetOptions>;
  /**
   * When the run ends early. `stepCountIs(n)` bounds the tool-using steps (then one last turn without tools
   * asks for the answer); default stepCountIs(DEFAULT_STEP_COUNT). Other conditions end the run as "stopped".
   */
  stopWhen?: StopCondition | StopCondition[];
  prepareStep?: PrepareStep;
  /** System prompt; null for none. */
  system?: string | null;
  sampling?: Partial<SamplingOptions>;
  maxOutputTokens?: number;
  /** Shared image store (one is made otherwise). */
  store?: ImageStore;
  /** What the caller's own image arguments may name (paths anywhere and public URLs by default). */
  inputPolicy?: SourcePolicy;
}

export interface RunOptions {
  images: AgentImageInput[];
  prompt: string;
  abortSignal?: AbortSignal;
}

export async function resolveModel(options: CreateAgentOptions): Promise<Backend> {
  if (typeof options.model === "string" && options.model.length > 0) return createBackend({ model: options.model });
  if (isBackend(options.model)) return options.model;
  throw new SquintError("INVALID_ARGUMENT", "createAgent needs a model: a Hub id, a model directory or a Backend.", {
    hint: "Pass { model: createRemoteBackend({...}) } for a server, or { model: 'Qwen/Qwen3-VL-2B-Thinking' } once pulled.",
  });
}

function isBackend(value: unknown): value is Backend {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Backend).generate === "function" &&
    typeof (value as Backend).info === "object"
  );
}

/** The budget the machine checks; its step limit comes from stopWhen's stepCountIs, the one way to set it. */
export function resolveBudget(maxSteps: number, budget: Partial<BudgetOptions> = {}): ResolvedBudget {
  if ("maxSteps" in budget) {
    throw new SquintError("INVALID_ARGUMENT", "budget.maxSteps is gone: bound the steps with stopWhen.", {
      hint: "Write stopWhen: stepCountIs(n) (import { stepCountIs } from 'squint').",
    });
  }
  const merged = { ...DEFAULT_BUDGET, ...budget, maxSteps };
  const positive = (name: string, value: number | null) => {
    if (value !== null && (!Number.isFinite(value) || value <= 0)) {
      throw new SquintError("INVALID_ARGUMENT", `budget.${name} must be a positive number, got ${value}.`, {
        hint: `Give budget.${name} a value above zero${name.startsWith("max") ? " (or null for no limit where allowed)" : ""}.`,
      });
    }
  };
  for (const [name, value] of Object.entries(merged)) positive(name, value);
  return merged;
}
