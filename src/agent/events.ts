import type { SquintErrorCode } from "../errors.js";
import type { FinishReason } from "../runtime/backend.js";

/**
 * Everything that happens during a run, in order, as plain JSON (the CLI prints them, the trace records them,
 * `--json` dumps them). Every event carries the step it belongs to; steps count model turns from 1.
 */

export interface ElidedImage {
  index: number;
  /** "shrunk" kept the image at fewer pixels; "dropped" replaced it by `record`. */
  action: "shrunk" | "dropped";
  record: string;
  tokensBefore: number;
  tokensAfter: number;
}

export interface BudgetState {
  step: number;
  maxSteps: number;
  elapsedMs: number;
  maxWallTimeMs: number | null;
  visualTokens: number;
  maxVisualTokens: number | null;
}

export interface ToolResultImage {
  /** The img_idx the model uses for it from now on. */
  index: number;
  storeId: string;
  width: number;
  height: number;
}

export type AgentEvent =
  | { type: "start-step"; step: number; finalTurn: boolean }
  | { type: "reasoning-delta"; step: number; text: string }
  | { type: "text-delta"; step: number; text: string }
  | { type: "tool-call"; step: number; toolCallId: string; toolName: string; input: Record<string, unknown> }
  | {
      type: "tool-result";
      step: number;
      toolCallId: string;
      toolName: string;
      ok: boolean;
      /** What went back to the model as text. */
      summary: string;
      images: ToolResultImage[];
      structured?: unknown;
      durationMs: number;
      /** When !ok: "invalid-call" (schema, unknown tool, bad img_idx), "tool-error", "protocol-error" or "timeout". */
      failure?: ToolFailureKind;
    }
  | { type: "budget"; state: BudgetState; elided: ElidedImage[] }
  | {
      type: "finish-step";
      step: number;
      finishReason: FinishReason;
      inputTokens: number;
      outputTokens: number;
      durationMs: number;
      modelMs: number;
    }
  | { type: "answer"; step: number; text: string; reasoning: string }
  | { type: "error"; step: number; code: SquintErrorCode; message: string; hint?: string };

export type ToolFailureKind = "invalid-call" | "tool-error" | "protocol-error" | "timeout";

export type AgentEventType = AgentEvent["type"];
