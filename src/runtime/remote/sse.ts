import { SquintError } from "../../errors.js";

/**
 * Server-sent events as OpenAI-compatible servers stream them (WHATWG "event stream" format): lines
 * separated by LF, CR or CRLF; `data:` lines of one event joined by "\n"; an empty line ends the event;
 * lines starting with ":" are comments (keep-alives). Only what chat completions use is kept: the event's
 * name and data.
 *
 * Linear in the input: each chunk is scanned once from where the last line break was found, and an
 * unfinished line is kept as a list of pieces, joined once when its break arrives (re-searching one growing
 * string made a 50 MB line cost ~36 s). Bounded: one event (its lines and data together) may not exceed
 * `maxEventChars`, so a server that never ends a line cannot grow the client without limit.
 */

export interface ServerSentEvent {
  /** The `event:` field; "message" when absent. */
  event: string;
  data: string;
}

/** 16 Mi characters: far above any chat-completion chunk (a delta is a few tokens), far below V8's string limit. */
export const DEFAULT_MAX_SSE_EVENT_CHARS = 16 * 1024 * 1024;

export interface SseDecoderOptions {
  /** Longest event (its unfinished line plus the data lines gathered so far), in UTF-16 characters. */
  maxEventChars?: number;
}

const LINE_BREAK = /\r\n|\r|\n/g;

export class SseDecoder {
  private pieces: string[] = [];
  private pieceChars = 0;
  private dataLines: string[] = [];
  private dataChars = 0;
  private eventName = "";
  private readonly utf8 = new TextDecoder("utf-8");
  private readonly maxEventChars: number;
  /** A CR ended the last chunk: a LF starting the next one belongs to the same line break. */
  private pendingCarriageReturn = false;

  constructor(options: SseDecoderOptions = {}) {
    this.maxEventChars = options.maxEventChars ?? DEFAULT_MAX_SSE_EVENT_CHARS;
  }

  /** Feeds raw bytes (or text); returns the events completed by them. */
  push(chunk: Uint8Array | string): ServerSentEvent[] {
    let text = typeof chunk === "string" ? chunk : this.utf8.decode(chunk, { stream: true });
    if (text === "") return [];
    if (this.pendingCarriageReturn && text.startsWith("\n")) text = text.slice(1);
    this.pendingCarriageReturn = false;
    const events: ServerSentEvent[] = [];
    const breaks = new RegExp(LINE_BREAK.source, "g");
    let from = 0;
    for (let match = breaks.exec(text); match !== null; match = breaks.exec(text)) {
      // A lone CR at the very end may be the first half of a CRLF split across chunks.
      if (match[0] === "\r" && match.index === text.length - 1) this.pendingCarriageReturn = true;
      const piece = text.slice(from, match.index);
      this.checkSize(piece.length);
      const line = this.pieces.length === 0 ? piece : this.pieces.join("") + piece;
      this.pieces = [];
      this.pieceChars = 0;
      from = match.index + match[0].length;
      const event = this.line(line);
      if (event) events.push(event);
    }
    if (from < text.length) {
      const rest = text.slice(from);
      this.checkSize(rest.length);
      this.pieces.push(rest);
      this.pieceChars += rest.length;
    }
    return events;
  }

  /**
   * The stream ended. The format says to drop an event that no empty line terminated; servers that close
   * right after their last `data:` line are common enough that it is dispatched instead.
   */
  end(): ServerSentEvent[] {
    const tail = this.utf8.decode();
    if (tail) {
      this.checkSize(tail.length);
      this.pieces.push(tail);
    }
    const events: ServerSentEvent[] = [];
    if (this.pieces.length > 0) {
      const event = this.line(this.pieces.join(""));
      this.pieces = [];
      this.pieceChars = 0;
      if (event) events.push(event);
    }
    const last = this.line("");
    if (last) events.push(last);
    return events;
  }

  private checkSize(adding: number): void {
    const total = this.pieceChars + this.dataChars + adding;
    if (total <= this.maxEventChars) return;
    this.pieces = [];
    this.pieceChars = 0;
    this.dataLines = [];
    this.dataChars = 0;
    throw new SquintError(
      "BACKEND_FAILED",
      `The server streamed an event over ${this.maxEventChars} characters without ending it.`,
      {
        hint: "The server is broken or hostile (an OpenAI-compatible stream sends small events); check baseUrl, or raise maxEventChars if it really sends such events.",
        details: { maxEventChars: this.maxEventChars },
      },
    );
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === "") {
      if (this.dataLines.length === 0) {
        this.eventName = "";
        return undefined;
      }
      const event = { event: this.eventName || "message", data: this.dataLines.join("\n") };
      this.dataLines = [];
      this.dataChars = 0;
      this.eventName = "";
      return event;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.dataLines.push(value);
      this.dataChars += value.length + 1;
    } else if (field === "event") this.eventName = value.slice(0, 256);
    return undefined;
  }
}

/** Events from a byte stream (an undici response body). */
export async function* readServerSentEvents(
  body: AsyncIterable<Uint8Array | string>,
  options: SseDecoderOptions = {},
): AsyncGenerator<ServerSentEvent> {
  const decoder = new SseDecoder(options);
  for await (const chunk of body) yield* decoder.push(chunk);
  yield* decoder.end();
}
