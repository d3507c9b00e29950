import { z } from "zod";
import { SquintError } from "../../errors.js";
import type { ToolCall } from "../../model/messages.js";
import { parseReply, type ReplyEvent, ReplyParser } from "../../model/reply.js";
import { parseToolCallBlock } from "../../model/tool-call-repair.js";
import type { BackendEvent, FinishReason } from "../backend.js";
import { TrailingCallCatcher } from "./reasoning-calls.js";

/**
 * Turns the chunks of a streamed chat completion into backend events, whatever the server did with the
 * model's tags:
 * - reasoning arrives in `reasoning_content` (vLLM ≤ 0.9, SGLang, DashScope), `reasoning` (newer vLLM,
 *   Ollama), or inside `content` when the server has no reasoning parser — then the text before `</think>`
 *   is the reasoning, as the Thinking template pre-opens `<think>`;
 * - tool calls arrive as native `tool_calls` (streamed as argument fragments by vLLM, whole by Ollama), as
 *   `<tool_call>` blocks in the content (no tool parser on the server), or — a known failure — inside the
 *   reasoning (see reasoning-calls.ts).
 * The model's own parser (src/model/reply.ts) does the in-text work, so local and remote agree.
 */

const deltaSchema = z
  .object({
    content: z.string().nullish(),
    reasoning_content: z.string().nullish(),
    reasoning: z.string().nullish(),
    tool_calls: z
      .array(
        z
          .object({
            index: z.number().int().nonnegative().optional(),
            id: z.string().nullish(),
            function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).loose().nullish(),
          })
          .loose(),
      )
      .nullish(),
  })
  .loose();

export const chunkSchema = z
  .object({
    choices: z
      .array(
        z
          .object({
            index: z.number().optional(),
            delta: deltaSchema.nullish(),
            finish_reason: z.string().nullish(),
          })
          .loose(),
      )
      .nullish(),
    usage: z
      .object({
        prompt_tokens: z.number().nullish(),
        completion_tokens: z.number().nullish(),
        prompt_tokens_details: z.object({ cached_tokens: z.number().nullish() }).loose().nullish(),
      })
      .loose()
      .nullish(),
    error: z.unknown().optional(),
    object: z.string().optional(),
    message: z.string().optional(),
  })
  .loose();

export interface DeltaInterpreterOptions {
  /** The model is a Thinking edition (its replies start inside `<think>`). */
  thinking: boolean;
  /**
   * Whether the server splits reasoning into its own field. "auto": content is read as starting inside
   * `<think>` (Thinking models) unless reasoning already arrived in a reasoning field.
   */
  serverSplitsReasoning?: boolean | "auto";
  /** Take `<tool_call>` blocks ending the reasoning as calls when the reply has nothing else. Default true. */
  callsFromReasoning?: boolean;
  createId?: () => string;
}

type NativeFragment = NonNullable<z.infer<typeof deltaSchema>["tool_calls"]>[number];

interface NativeCall {
  id?: string;
  name: string;
  arguments: string;
}

export class DeltaInterpreter {
  private readonly reasoningField: ReplyParser;
  private contentParser: ReplyParser | undefined;
  private readonly catcher = new TrailingCallCatcher();
  private readonly nativeCalls = new Map<number, NativeCall>();
  private sawReasoningField = false;
  private answered = false;
  private calls = 0;
  private finishReason: string | undefined;
  private usage: Extract<BackendEvent, { type: "usage" }> | undefined;
  private readonly createId: () => string;

  constructor(private readonly options: DeltaInterpreterOptions) {
    let next = 0;
    this.createId = options.createId ?? (() => `call_${Date.now().toString(36)}_${next++}`);
    // The reasoning field is read as a reply that has not closed `<think>`: a `</think>` in it (a server
    // that failed to split) still separates reasoning from answer.
    this.reasoningField = new ReplyParser({ thinking: true, createId: this.createId });
  }

  /** One decoded `data:` payload. */
  push(payload: unknown): BackendEvent[] {
    const parsed = chunkSchema.safeParse(payload);
    if (!parsed.success) {
      throw new SquintError("BACKEND_FAILED", "The server streamed a chunk that is not a chat completion chunk.", {
        hint: "Check that the base URL points at an OpenAI-compatible /v1 endpoint.",
        details: { issue: parsed.error.issues[0]?.message },
      });
    }
    const chunk = parsed.data;
    if (chunk.error !== undefined || chunk.object === "error") throw streamedError(chunk.error ?? chunk);
    const events: BackendEvent[] = [];
    for (const choice of chunk.choices ?? []) {
      if ((choice.index ?? 0) !== 0) continue;
      const delta = choice.delta;
      const reasoning = delta?.reasoning_content ?? delta?.reasoning;
      if (reasoning) {
        this.sawReasoningField = true;
        this.route(this.reasoningField.feed(reasoning), events);
      }
      if (delta?.content) this.route(this.content().feed(delta.content), events);
      for (const call of delta?.tool_calls ?? []) this.addNativeFragment(call);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    if (chunk.usage && typeof chunk.usage.prompt_tokens === "number") {
      const cached = chunk.usage.prompt_tokens_details?.cached_tokens;
      this.usage = {
        type: "usage",
        inputTokens: chunk.usage.prompt_tokens,
        outputTokens: chunk.usage.completion_tokens ?? 0,
        ...(typeof cached === "number" ? { cachedPromptTokens: cached } : {}),
      };
    }
    return events;
  }

  /** The stream ended normally: flush parsers, emit native calls, usage and the finish event. */
  end(): BackendEvent[] {
    const events: BackendEvent[] = [];
    this.route(this.reasoningField.end(), events);
    if (this.contentParser) this.route(this.contentParser.end(), events);
    for (const index of [...this.nativeCalls.keys()].sort((a, b) => a - b))
      this.emitNative(this.nativeCalls.get(index)!, events);
    this.nativeCalls.clear();
    const held = this.options.callsFromReasoning === false || this.answered ? undefined : this.catcher.takeCalls();
    if (held !== undefined) {
      const rescued = parseReply(held, { thinking: false, createId: this.createId });
      for (const call of rescued.toolCalls) this.emitCall(call, events);
      for (const error of rescued.toolCallErrors) events.push({ type: "tool-call-error", ...error });
    }
    const rest = this.catcher.release();
    if (rest) events.push({ type: "reasoning-delta", text: rest });
    if (this.usage) events.push(this.usage);
    events.push({ type: "finish", reason: this.finish() });
    return events;
  }

  /** A chunk said how the reply ended (a stream that closes before this was cut off). */
  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  private content(): ReplyParser {
    if (!this.contentParser) {
      const split = this.options.serverSplitsReasoning ?? "auto";
      const insideThink = this.options.thinking && (split === false || (split === "auto" && !this.sawReasoningField));
      this.contentParser = new ReplyParser({ thinking: insideThink, createId: this.createId });
    }
    return this.contentParser;
  }

  private route(replyEvents: ReplyEvent[], events: BackendEvent[]): void {
    for (const event of replyEvents) {
      if (event.type === "reasoning-delta") {
        const text = this.catcher.push(event.text);
        if (text) events.push({ type: "reasoning-delta", text });
        continue;
      }
      // An answer or a call: whatever reasoning was held back was just reasoning.
      this.answered = true;
      const held = this.catcher.release();
      if (held) events.push({ type: "reasoning-delta", text: held });
      if (event.type === "tool-call") this.emitCall(event.call, events);
      else events.push(event);
    }
  }

  private addNativeFragment(fragment: NativeFragment): void {
    const index = fragment.index ?? 0;
    const current = this.nativeCalls.get(index) ?? { name: "", arguments: "" };
    if (fragment.id) current.id = fragment.id;
    if (fragment.function?.name) current.name += fragment.function.name;
    if (fragment.function?.arguments) current.arguments += fragment.function.arguments;
    this.nativeCalls.set(index, current);
    this.answered = true;
  }

  private emitNative(call: NativeCall, events: BackendEvent[]): void {
    const held = this.catcher.release();
    if (held) events.push({ type: "reasoning-delta", text: held });
    const raw = JSON.stringify({ name: call.name, arguments: call.arguments });
    const parsed = parseToolCallBlock(raw);
    if (!parsed.ok) {
      events.push({ type: "tool-call-error", raw: `${call.name} ${call.arguments}`, message: parsed.message });
      return;
    }
    this.emitCall({ ...(call.id ? { id: call.id } : {}), ...parsed.call }, events);
  }

  private emitCall(call: ToolCall, events: BackendEvent[]): void {
    this.calls++;
    events.push({ type: "tool-call", call: { ...call, id: call.id ?? this.createId() } });
  }

  private finish(): FinishReason {
    if (this.calls > 0) return "tool-calls";
    return this.finishReason === "length" ? "length" : "stop";
  }
}

function streamedError(error: unknown): SquintError {
  const record = typeof error === "object" && error !== null ? (error as Record<string, unknown>) : {};
  const message = typeof record.message === "string" ? record.message : JSON.stringify(error);
  return new SquintError("BACKEND_FAILED", `The server reported an error mid-stream: ${message}`, {
    hint: "The reply was cut short by the server; see its log. Retrying may help if it was overloaded.",
    details: { error: record },
  });
}
