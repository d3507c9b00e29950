import { randomUUID } from "node:crypto";
import { type GroundingItem, parseGrounding } from "./grounding.js";
import type { ToolCall } from "./messages.js";
import { parseToolCallBlock } from "./tool-call-repair.js";
import { SquintError } from "../errors.js";

/**
 * Splits a Qwen3-VL reply into reasoning, answer text and tool calls, as vLLM's qwen3 reasoning parser and
 * hermes tool parser do (spec §5): reasoning is what precedes `</think>` (all of it when a Thinking reply
 * never closes it), and `<tool_call>` blocks count only after `</think>` — a call the model merely
 * considers while thinking is not executed.
 *
 * Newlines that the chat template itself writes around these tags are not part of the texts (the template
 * strips them when the turn is rendered again): leading/trailing newlines of the reasoning, newlines right
 * after `</think>` and `</tool_call>`, and newlines right before `<tool_call>`.
 *
 * The streaming parser never emits a partial tag: text that could be the start of `</think>` or
 * `<tool_call>` (and newlines that may turn out to be template separators) is held back until the next
 * chunk decides. `parseReply` is the same parser fed once, so streaming and batch results agree.
 */

export type ReplyEvent =
  | { type: "reasoning-delta"; text: string }
  | { type: "text-delta"; text: string }
  | { type: "tool-call"; call: ToolCall }
  /** A block that could not be repaired into a call: `message` is written for the model. */
  | { type: "tool-call-error"; raw: string; message: string };

export interface ReplyParserOptions {
  /** The reply continues a prompt that pre-opened `<think>` (Thinking checkpoints). */
  thinking: boolean;
  /** Id for each parsed call; defaults to `call_` + 12 random hex digits. */
  createId?: () => string;
}

export interface ParsedReply {
  reasoning: string;
  content: string;
  toolCalls: ToolCall[];
  toolCallErrors: { raw: string; message: string }[];
  /** Boxes and points in the answer text (0–1000 relative units). */
  grounding: GroundingItem[];
  /** A Thinking reply that never reached `</think>` (usually cut off by the token limit). */
  reasoningUnfinished: boolean;
}

const THINK_OPEN = "<think>";
const THINK_CLOSE = "</think>";
const CALL_OPEN = "<tool_call>";
const CALL_CLOSE = "</tool_call>";

type State = "opening" | "reasoning" | "content" | "tool-call";

export class ReplyParser {
  private state: State;
  private pending = "";
  /** At the start of a section whose leading newlines belong to the template. */
  private atSectionStart = true;
  private ended = false;
  private sawThinkClose = false;
  private readonly createId: () => string;
  private readonly reasoningParts: string[] = [];
  private readonly contentParts: string[] = [];
  private readonly calls: ToolCall[] = [];
  private readonly errors: { raw: string; message: string }[] = [];

  constructor(private readonly options: ReplyParserOptions) {
    this.state = options.thinking ? "reasoning" : "opening";
    this.createId = options.createId ?? (() => `call_${randomUUID().replace(/-/g, "").slice(0, 12)}`);
  }

  /** Adds a chunk of decoded text; returns what became certain. */
  feed(chunk: string): ReplyEvent[] {
    if (this.ended) throw new SquintError("INTERNAL", "ReplyParser.feed called after end().");
    this.pending += chunk;
    const events: ReplyEvent[] = [];
    this.process(events, false);
    return events;
  }

  /** Ends the stream: flushes held-back text and reads an unclosed `<tool_call>` block. */
  end(): ReplyEvent[] {
    if (this.ended) return [];
    this.ended = true;
    const events: ReplyEvent[] = [];
    this.process(events, true);
    return events;
  }

  /** Still inside the thinking: `</think>` has not been read yet (never true for a reply without thinking). */
  get inReasoning(): boolean {
    return this.state === "reasoning";
  }

  /** Everything parsed so far (complete once `end()` was called). */
  result(): ParsedReply {
    const content = this.contentParts.join("");
    return {
      reasoning: this.reasoningParts.join(""),
      content,
      toolCalls: [...this.calls],
      toolCallErrors: [...this.errors],
      grounding: parseGrounding(content),
      reasoningUnfinished: this.options.thinking && !this.sawThinkClose,
    };
  }

  private process(events: ReplyEvent[], final: boolean): void {
    for (;;) {
      const before = `${this.state}|${this.pending.length}|${this.atSectionStart}`;
      this.step(events, final);
      if (`${this.state}|${this.pending.length}|${this.atSectionStart}` === before) return;
    }
  }

  private step(events: ReplyEvent[], final: boolean): void {
    if (this.state === "opening") this.opening(final);
    else if (this.state === "reasoning") this.reasoning(events, final);
    else if (this.state === "content") this.content(events, final);
    else this.toolCall(events, final);
  }

  /** Non-thinking replies: a reply that opens with `<think>` still gets its reasoning split off. */
  private opening(final: boolean): void {
    const trimmed = this.pending.replace(/^\s+/, "");
    if (trimmed.startsWith(THINK_OPEN)) {
      this.pending = trimmed.slice(THINK_OPEN.length);
      this.state = "reasoning";
      this.atSectionStart = true;
      return;
    }
    if (!final && THINK_OPEN.startsWith(trimmed)) return; // could still become "<think>"
    this.state = "content";
    this.atSectionStart = true;
  }

  private reasoning(events: ReplyEvent[], final: boolean): void {
    if (this.atSectionStart) {
      this.pending = this.pending.replace(/^\n+/, "");
      // A Thinking model that writes `<think>` again (old-style templates): the tag is not reasoning.
      // Still at the section start afterwards, so the newline that follows the tag is dropped too.
      if (this.pending.startsWith(THINK_OPEN)) {
        this.pending = this.pending.slice(THINK_OPEN.length);
        return;
      }
      if (!final && THINK_OPEN.startsWith(this.pending)) return; // "" or a possible "<think>"
      this.atSectionStart = false;
    }
    const close = this.pending.indexOf(THINK_CLOSE);
    if (close >= 0) {
      this.emit(events, "reasoning", this.pending.slice(0, close).replace(/\n+$/, ""));
      this.pending = this.pending.slice(close + THINK_CLOSE.length);
      this.sawThinkClose = true;
      this.state = "content";
      this.atSectionStart = true;
      return;
    }
    if (final) {
      this.emit(events, "reasoning", this.pending.replace(/\n+$/, ""));
      this.pending = "";
      return;
    }
    const hold = heldSuffix(this.pending, THINK_CLOSE);
    this.emit(events, "reasoning", this.pending.slice(0, hold));
    this.pending = this.pending.slice(hold);
  }

  private content(events: ReplyEvent[], final: boolean): void {
    if (this.atSectionStart) {
      this.pending = this.pending.replace(/^\n+/, "");
      if (this.pending === "" && !final) return;
      this.atSectionStart = false;
    }
    const open = this.pending.indexOf(CALL_OPEN);
    if (open >= 0) {
      this.emit(events, "content", this.pending.slice(0, open).replace(/\n+$/, ""));
      this.pending = this.pending.slice(open + CALL_OPEN.length);
      this.state = "tool-call";
      return;
    }
    if (final) {
      this.emit(events, "content", this.pending.replace(/\n+$/, ""));
      this.pending = "";
      return;
    }
    const hold = heldSuffix(this.pending, CALL_OPEN);
    this.emit(events, "content", this.pending.slice(0, hold));
    this.pending = this.pending.slice(hold);
  }

  private toolCall(events: ReplyEvent[], final: boolean): void {
    const close = this.pending.indexOf(CALL_CLOSE);
    // A second opening tag before any close: the model abandoned the first block and started over.
    const reopen = this.pending.indexOf(CALL_OPEN);
    if (reopen >= 0 && (close < 0 || reopen < close)) {
      this.readCall(events, this.pending.slice(0, reopen), "it was never closed before the next <tool_call>");
      this.pending = this.pending.slice(reopen + CALL_OPEN.length);
      return;
    }
    if (close >= 0) {
      this.readCall(events, this.pending.slice(0, close));
      this.pending = this.pending.slice(close + CALL_CLOSE.length);
      this.state = "content";
      this.atSectionStart = true;
      return;
    }
    if (final) {
      // vLLM's hermes parser also accepts a block left open at the end of the stream.
      this.readCall(events, this.pending, "the reply ended before </tool_call>");
      this.pending = "";
    }
  }

  private readCall(events: ReplyEvent[], raw: string, unclosed?: string): void {
    const parsed = parseToolCallBlock(raw);
    if (parsed.ok) {
      const call: ToolCall = { id: this.createId(), ...parsed.call };
      this.calls.push(call);
      events.push({ type: "tool-call", call });
      return;
    }
    const message = unclosed ? `${parsed.message} (The block was cut short: ${unclosed}.)` : parsed.message;
    this.errors.push({ raw: parsed.raw, message });
    events.push({ type: "tool-call-error", raw: parsed.raw, message });
  }

  private emit(events: ReplyEvent[], kind: "reasoning" | "content", text: string): void {
    if (text === "") return;
    if (kind === "reasoning") {
      this.reasoningParts.push(text);
      events.push({ type: "reasoning-delta", text });
    } else {
      this.contentParts.push(text);
      events.push({ type: "text-delta", text });
    }
  }
}

/**
 * Where the text that must wait starts: a suffix that could begin `tag`, together with the newlines right
 * before it (they are dropped if the tag follows, kept if text does).
 */
function heldSuffix(text: string, tag: string): number {
  let hold = text.length;
  for (let length = Math.min(tag.length - 1, text.length); length > 0; length--) {
    if (tag.startsWith(text.slice(text.length - length))) {
      hold = text.length - length;
      break;
    }
  }
  while (hold > 0 && text[hold - 1] === "\n") hold--;
  return hold;
}

/** Parses a whole reply at once (the streaming parser, fed in one piece). */
export function parseReply(text: string, options: ReplyParserOptions): ParsedReply {
  const parser = new ReplyParser(options);
  parser.feed(text);
  parser.end();
  return parser.result();
}
