/**
 * Server-sent events as OpenAI-compatible servers stream them (WHATWG "event stream" format): lines
 * separated by LF, CR or CRLF; `data:` lines of one event joined by "\n"; an empty line ends the event;
 * lines starting with ":" are comments (keep-alives). Only what chat completions use is kept: the event's
 * name and data.
 */

export interface ServerSentEvent {
  /** The `event:` field; "message" when absent. */
  event: string;
  data: string;
}

export class SseDecoder {
  private buffer = "";
  private dataLines: string[] = [];
  private eventName = "";
  private readonly utf8 = new TextDecoder("utf-8");
  /** A CR ended the last chunk: a LF starting the next one belongs to the same line break. */
  private pendingCarriageReturn = false;

  /** Feeds raw bytes (or text); returns the events completed by them. */
  push(chunk: Uint8Array | string): ServerSentEvent[] {
    let text = typeof chunk === "string" ? chunk : this.utf8.decode(chunk, { stream: true });
    if (text === "") return [];
    if (this.pendingCarriageReturn && text.startsWith("\n")) text = text.slice(1);
    this.pendingCarriageReturn = false;
    this.buffer += text;
    const events: ServerSentEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone CR at the very end may be the first half of a CRLF split across chunks.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) this.pendingCarriageReturn = true;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  /**
   * The stream ended. The format says to drop an event that no empty line terminated; servers that close
   * right after their last `data:` line are common enough that it is dispatched instead.
   */
  end(): ServerSentEvent[] {
    const tail = this.utf8.decode();
    if (tail) this.buffer += tail;
    const events: ServerSentEvent[] = [];
    if (this.buffer !== "") {
      const event = this.line(this.buffer);
      if (event) events.push(event);
      this.buffer = "";
    }
    const last = this.line("");
    if (last) events.push(last);
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === "") {
      if (this.dataLines.length === 0) {
        this.eventName = "";
        return undefined;
      }
      const event = { event: this.eventName || "message", data: this.dataLines.join("\n") };
      this.dataLines = [];
      this.eventName = "";
      return event;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.dataLines.push(value);
    else if (field === "event") this.eventName = value;
    return undefined;
  }
}

/** Events from a byte stream (an undici response body). */
export async function* readServerSentEvents(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<ServerSentEvent> {
  const decoder = new SseDecoder();
  for await (const chunk of body) yield* decoder.push(chunk);
  yield* decoder.end();
}
