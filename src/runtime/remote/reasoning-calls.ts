/**
 * Tool calls a server left inside the reasoning. With Qwen3 thinking models vLLM's reasoning parser puts
 * everything before `</think>` into the reasoning field; when the model writes its `<tool_call>` without
 * closing `</think>` first, the call never reaches the tool-call parser and the reply looks like thoughts
 * with no answer. This holds back a reasoning tail that consists only of `<tool_call>` blocks (and
 * whitespace) until it is known whether more reasoning follows; at the end of a reply that produced no
 * answer and no call, the held blocks are taken as the calls the model meant.
 */

const OPEN = "<tool_call>";
const CLOSE = "</tool_call>";

export class TrailingCallCatcher {
  private held = "";

  /** Adds reasoning text; returns the part that is certainly reasoning. */
  push(text: string): string {
    this.held += text;
    const start = callTailStart(this.held);
    const released = this.held.slice(0, start);
    this.held = this.held.slice(start);
    return released;
  }

  /** Gives up the held text as reasoning (an answer or a call came after it). */
  release(): string {
    const text = this.held;
    this.held = "";
    return text;
  }

  /** The held tail, if it holds at least one complete-looking `<tool_call>` opening. */
  takeCalls(): string | undefined {
    if (!this.held.includes(OPEN)) return undefined;
    const text = this.held;
    this.held = "";
    return text;
  }
}

/**
 * Index where a run of whitespace + `<tool_call>` blocks reaching the end of `text` starts (the last block
 * may be unclosed, or a partial `<tool_call` tag); `text.length` when there is none.
 */
export function callTailStart(text: string): number {
  let candidate = text.indexOf(OPEN);
  while (candidate >= 0) {
    if (isCallTail(text, candidate)) return withLeadingSpace(text, candidate);
    candidate = text.indexOf(OPEN, candidate + 1);
  }
  // A partial opening tag at the very end might become the first block.
  for (let length = Math.min(OPEN.length - 1, text.length); length > 0; length--) {
    if (OPEN.startsWith(text.slice(text.length - length))) return withLeadingSpace(text, text.length - length);
  }
  return text.length;
}

function isCallTail(text: string, start: number): boolean {
  let position = start;
  for (;;) {
    if (!text.startsWith(OPEN, position)) return false;
    const close = text.indexOf(CLOSE, position + OPEN.length);
    // Unclosed last block: fine, as long as no second opening is inside it (that would be prose around calls).
    if (close < 0) return !text.includes(OPEN, position + OPEN.length);
    position = close + CLOSE.length;
    while (position < text.length && /\s/.test(text[position])) position++;
    if (position === text.length) return true;
    // A partial next opening tag at the end still belongs to the tail.
    const rest = text.slice(position);
    if (rest.length < OPEN.length && OPEN.startsWith(rest)) return true;
  }
}

function withLeadingSpace(text: string, start: number): number {
  let index = start;
  while (index > 0 && /\s/.test(text[index - 1])) index--;
  return index;
}
