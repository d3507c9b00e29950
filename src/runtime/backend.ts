import type { Message, ToolCall, ToolSpec } from "../model/messages.js";
import type { RawImage } from "../model/vision.js";
import type { SamplingOptions } from "../model/sampling.js";

/**
 * What the agent needs from a model, local or remote: turn a conversation into a stream of events.
 * Backends never see the image store: image parts carry references, and `resolveImage` turns a
 * reference into decoded RGB pixels when the backend needs them.
 */
/**
 * Whether the reply must call a tool (OpenAI's `tool_choice`; "none" is simply no `tools`): "auto" lets the
 * model decide, "required" makes it call one of `tools`, `{ name }` makes it call that one.
 */
export type ToolChoice = "auto" | "required" | { name: string };

export interface GenerateRequest {
  messages: Message[];
  tools?: ToolSpec[];
  /** Default "auto". The local engine forces the call's opening; a remote server is sent `tool_choice`. */
  toolChoice?: ToolChoice;
  /** Thinking checkpoints pre-open `<think>`; remote servers may need to be told (chat_template_kwargs). */
  thinking?: boolean;
  sampling?: Partial<SamplingOptions>;
  maxOutputTokens?: number;
  signal?: AbortSignal;
  resolveImage: (reference: string) => Promise<RawImage>;
}

export type FinishReason = "stop" | "length" | "tool-calls" | "aborted" | "error";

export type BackendEvent =
  | { type: "reasoning-delta"; text: string }
  | { type: "text-delta"; text: string }
  | { type: "tool-call"; call: ToolCall }
  /** A `<tool_call>` block that could not be repaired into JSON: the agent tells the model. */
  | { type: "tool-call-error"; raw: string; message: string }
  | { type: "usage"; inputTokens: number; outputTokens: number; cachedPromptTokens?: number }
  | { type: "finish"; reason: FinishReason };

export interface BackendInfo {
  /** e.g. "local:Qwen3-VL-2B-Thinking (int4, webgpu)" or "remote:vllm http://…". */
  name: string;
  /** Whether the model is a Thinking edition (its replies start inside `<think>`). */
  thinking: boolean;
  /** The pixel budget the model's processor uses, for the agent's visual-token accounting. */
  minPixels: number;
  maxPixels: number;
}

export interface Backend {
  readonly info: BackendInfo;
  generate(request: GenerateRequest): AsyncIterable<BackendEvent>;
  /** Frees sessions, sockets and caches. Safe to call twice. */
  close(): Promise<void>;
}
