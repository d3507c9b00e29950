import type { SquintErrorCode } from "../errors.js";
import type { Message, ToolCall } from "../model/messages.js";
import type { FinishReason } from "../runtime/backend.js";
import type { ElidedImage, ToolFailureKind, ToolResultImage } from "./events.js";
import type { ImageEntry } from "./image-index.js";

/**
 * The machine's context. It is plain JSON on purpose: the persisted snapshot is this object (plus the state
 * value), so a run can resume in another process. Functions (backend, tools, hooks) live in the machine's
 * provided implementations, never here.
 */

export interface ResolvedBudget {
  /** Tool-using steps before the final turn: the run's stepCountIs(n), kept here so a resumed run keeps it. */
  maxSteps: number;
  maxWallTimeMs: number | null;
  maxVisualTokens: number | null;
  /** Pixel cap for an older image that is shrunk rather than dropped. */
  shrinkPixels: number;
  maxConsecutiveToolFailures: number;
  toolTimeoutMs: number;
  /** Absent in snapshots taken before it existed: those runs get the default. */
  maxReplyChars?: number;
}

export interface TraceCall {
  toolCallId: string;
  toolName: string;
  input: Record<string, unknown>;
  ok: boolean;
  summary: string;
  failure?: ToolFailureKind;
  images: ToolResultImage[];
  structured?: unknown;
  durationMs: number;
}

export interface TraceStep {
  step: number;
  finalTurn: boolean;
  startedAt: number;
  modelMs: number;
  toolMs: number;
  reasoning: string;
  text: string;
  finishReason: FinishReason | null;
  inputTokens: number;
  outputTokens: number;
  visualTokens: number;
  elided: ElidedImage[];
  calls: TraceCall[];
}

export interface TurnOutcome {
  text: string;
  reasoning: string;
  toolCalls: Array<ToolCall & { id: string }>;
  callErrors: Array<{ id: string; raw: string; message: string }>;
  finishReason: FinishReason;
  inputTokens: number;
  outputTokens: number;
  modelMs: number;
}

export interface CallOutcome {
  toolCallId: string;
  toolName: string;
  ok: boolean;
  /** The text that goes back to the model. */
  text: string;
  failure?: ToolFailureKind;
  /** Images the call produced, ready for the image index (parent and box already resolved). */
  images: Array<Omit<ImageEntry, "index" | "state">>;
  structured?: unknown;
  durationMs: number;
}

export type RunStatus = "answered" | "failed" | "aborted" | "exhausted" | "stopped";

export interface RunError {
  code: SquintErrorCode;
  message: string;
  hint?: string;
}

export interface AgentContext {
  runId: string;
  /** The true conversation: every image at full size (what the model sees is derived with the image states). */
  messages: Message[];
  images: ImageEntry[];
  budget: ResolvedBudget;
  /** Model turns started so far (1-based once the first starts). */
  step: number;
  finalTurn: boolean;
  /** Wall time spent before the current process picked the run up (resume adds to it). */
  elapsedMs: number;
  consecutiveFailures: number;
  lastTurn: TurnOutcome | null;
  lastCalls: CallOutcome[];
  answer: string | null;
  reasoning: string | null;
  error: RunError | null;
  stopReason: string | null;
  inputTokens: number;
  outputTokens: number;
  trace: TraceStep[];
}
