import type { Readable, Writable } from "node:stream";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js";
import { describeZodIssues, formatError, SquintError } from "../errors.js";
import { errorResult } from "./server-tools.js";

/**
 * `squint mcp` over stdio: one server, one client, newline-delimited JSON-RPC on stdin/stdout.
 *
 * Our own transport instead of the SDK's StdioServerTransport, for measured reasons:
 * - the SDK drops the whole connection on any incoming line over 10 MiB, and a tool argument may carry a
 *   base64 image; we read lines up to 64 MiB, and a longer one is dropped alone (the connection stays up,
 *   and a dropped request is answered with an error at once instead of leaving the client to time out);
 * - the SDK's ReadBuffer concatenates the whole pending buffer on every 64 kB pipe chunk and searches it
 *   again for a newline, which is quadratic in the line's length; we keep the chunks and scan each once
 *   (bench/mcp/stdio-lines.ts: the first 11 MB line of a fresh process took 12.7 s there, 0.6 s here);
 * - clients that are not quite NDJSON still get answers: a line starting with a byte-order mark, and several
 *   JSON objects written on one line, are read (issue 10: both were silently ignored);
 * - when stdin ends, requests still running are answered before the transport closes (a client that writes
 *   its requests and closes its end used to lose every reply); when stdout breaks (EPIPE, the client is gone)
 *   the transport closes quietly instead of crashing the process with a stack trace;
 * - what it *sends* is bounded: a reply over `maxOutgoingBytes` (default 9 MiB, under the SDK client's 10 MiB
 *   line limit) is replaced by a typed RESOURCE_EXHAUSTED error for that request, so one oversized answer
 *   cannot make the client drop the connection. The server keeps its own results under that (inline images
 *   are small; resource reads stay under maxMessageBytes); this is the last line of defence.
 */
export const STDIO_MAX_INCOMING_BYTES = 64 * 1024 * 1024;
export const STDIO_MAX_OUTGOING_BYTES = 9 * 1024 * 1024;
/** How long requests still running when stdin ends may take to answer before the transport closes anyway. */
export const STDIO_DRAIN_TIMEOUT_MS = 60_000;

const ID_WINDOW = 256;

/**
 * The id of a JSON-RPC request from the start or the end of its text. The SDK's client writes `id` last
 * (`{...request, jsonrpc, id}`), other clients first; a string id with escapes is not worth guessing at.
 */
function requestIdOf(text: string): string | number | undefined {
  const match =
    /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d+|"[^"\\]*")/.exec(text) ??
    /"id"\s*:\s*(-?\d+|"[^"\\]*")\s*\}\s*$/.exec(text);
  if (!match) return undefined;
  return match[1].startsWith('"') ? match[1].slice(1, -1) : Number(match[1]);
}

/** requestIdOf on the ends of a line only: a 64 MiB line is not searched whole. */
function requestIdOfLine(text: string): string | number | undefined {
  return text.length <= 2 * ID_WINDOW
    ? requestIdOf(text)
    : (requestIdOf(text.slice(0, ID_WINDOW)) ?? requestIdOf(text.slice(-ID_WINDOW)));
}

function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * The JSON texts of a line that holds several objects or arrays back to back (`{...}{...}` or `{...} {...}`),
 * or undefined when it is not that. One pass, tracking strings and nesting; only called on a line that did
 * not parse as a whole.
 */
export function splitJsonTexts(line: string): string[] | undefined {
  const texts: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      if (depth === 0) return undefined;
      inString = true;
    } else if (code === 0x7b || code === 0x5b) {
      if (depth === 0) start = i;
      depth++;
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
      if (depth < 0) return undefined;
      if (depth === 0) texts.push(line.slice(start, i + 1));
    } else if (depth === 0 && !isJsonWhitespace(code)) {
      return undefined;
    }
  }
  return depth === 0 && texts.length > 1 ? texts : undefined;
}

/** The id of a response or error this side sends, which answers one of the client's requests. */
function answeredId(message: JSONRPCMessage): RequestId | undefined {
  return isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message) ? message.id : undefined;
}

function idOfValue(value: unknown): RequestId | undefined {
  if (typeof value !== "object" || value === null || !("id" in value)) return undefined;
  const id = (value as { id: unknown }).id;
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : undefined;
}

export interface StdioLineTransportOptions {
  /** Longest incoming line; a longer one is dropped alone and answered with an error. */
  maxLineBytes?: number;
  /** Longest outgoing line; a longer reply is replaced by a RESOURCE_EXHAUSTED error. */
  maxOutgoingBytes?: number;
  /** After stdin ends, how long running requests may take to answer before the transport closes. */
  drainTimeoutMs?: number;
}

export class StdioLineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #stdin: Readable;
  readonly #stdout: Writable;
  readonly #maxLineBytes: number;
  readonly #maxOutgoingBytes: number;
  readonly #drainTimeoutMs: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** True while skipping the rest of a line that was over the limit. */
  #discarding = false;
  /** The first and last bytes of a line being skipped: enough to find its request id. */
  #droppedEnds = { head: Buffer.alloc(0), tail: Buffer.alloc(0) };
  /** The client's requests not answered yet (id → method), so stdin's end can wait for them. */
  readonly #inFlight = new Map<RequestId, string>();
  #inputEnded = false;
  #drainTimer: NodeJS.Timeout | undefined;
  /** One wait for stdout's 'drain' shared by every blocked send (a listener each tripped MaxListeners). */
  #writable: { promise: Promise<void>; release: () => void } | undefined;
  /** Settles when the last write has left this process (or failed). */
  #flushed: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(stdin: Readable, stdout: Writable, options: StdioLineTransportOptions = {}) {
    this.#stdin = stdin;
    this.#stdout = stdout;
    this.#maxLineBytes = options.maxLineBytes ?? STDIO_MAX_INCOMING_BYTES;
    this.#maxOutgoingBytes = options.maxOutgoingBytes ?? STDIO_MAX_OUTGOING_BYTES;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? STDIO_DRAIN_TIMEOUT_MS;
  }

  async start(): Promise<void> {
    this.#stdin.on("data", this.#onData);
    this.#stdin.on("error", this.#onError);
    this.#stdin.once("end", this.#onEnd);
    // Stays attached after close: a write error reported late must not become an uncaught exception.
    this.#stdout.on("error", this.#onOutputError);
  }

  readonly #onData = (chunk: Buffer): void => {
    let from = 0;
    for (let newline = chunk.indexOf(10, from); newline !== -1; newline = chunk.indexOf(10, from)) {
      this.#take(chunk.subarray(from, newline));
      this.#finishLine();
      from = newline + 1;
    }
    if (from < chunk.length) this.#take(chunk.subarray(from));
  };

  #take(part: Buffer): void {
    if (part.length === 0) return;
    if (this.#discarding) {
      this.#droppedEnds.tail = Buffer.concat([this.#droppedEnds.tail, part]).subarray(-ID_WINDOW);
      return;
    }
    if (this.#pendingBytes + part.length > this.#maxLineBytes) {
      const first = this.#pending[0] ?? part;
      this.#droppedEnds = {
        head: Buffer.from(first.subarray(0, ID_WINDOW)),
        tail: Buffer.from(part.subarray(-ID_WINDOW)),
      };
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#discarding = true;
      return;
    }
    this.#pending.push(part);
    this.#pendingBytes += part.length;
  }

  /** Answers a request that was too long to read, so the client gets an error now rather than a timeout. */
  #answerDropped(): void {
    const message = `Message over ${this.#maxLineBytes} bytes dropped; send large images by path or URL instead of inline data.`;
    this.onerror?.(new SquintError("REQUEST_TOO_LARGE", message));
    const { head, tail } = this.#droppedEnds;
    const id = requestIdOf(head.toString("latin1")) ?? requestIdOf(tail.toString("latin1"));
    this.#droppedEnds = { head: Buffer.alloc(0), tail: Buffer.alloc(0) };
    if (id === undefined) return;
    void this.send({ jsonrpc: "2.0", id, error: { code: -32600, message } });
  }

  #finishLine(): void {
    const parts = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#discarding) {
      this.#discarding = false;
      this.#answerDropped();
      return;
    }
    if (parts.length === 0) return;
    let line = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString("utf8").replace(/\r$/, "");
    // A byte-order mark (Windows tools write one) is not JSON whitespace; JSON.parse would refuse the line.
    if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.trim() === "") return;
    let values: unknown[];
    try {
      values = [JSON.parse(line)];
    } catch (error) {
      const texts = splitJsonTexts(line);
      if (!texts) {
        this.#refuse(
          requestIdOfLine(line),
          -32700,
          `Parse error: ${error instanceof Error ? error.message : "not JSON"}`,
        );
        return;
      }
      values = [];
      for (const text of texts) {
        try {
          values.push(JSON.parse(text));
        } catch (inner) {
          this.#refuse(
            requestIdOfLine(text),
            -32700,
            `Parse error: ${inner instanceof Error ? inner.message : "not JSON"}`,
          );
        }
      }
    }
    for (const value of values) this.#receive(value);
  }

  #receive(value: unknown): void {
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (!parsed.success) {
      this.#refuse(idOfValue(value), -32600, `Invalid Request: ${describeZodIssues(parsed.error, 3)}`);
      return;
    }
    const message = parsed.data;
    if (isJSONRPCRequest(message)) {
      this.#inFlight.set(message.id, message.method);
    } else if (isJSONRPCNotification(message) && message.method === "notifications/cancelled") {
      // A cancelled request is never answered (the SDK drops its reply), so it no longer holds the drain.
      const requestId = idOfValue({ id: message.params?.requestId });
      if (requestId !== undefined) this.#settled(requestId);
    }
    this.onmessage?.(message);
  }

  /** Reports a line that is not a JSON-RPC message, answering it when it carries an id. */
  #refuse(id: RequestId | undefined, code: number, text: string): void {
    const message = text.length > 300 ? `${text.slice(0, 300)}…` : text;
    this.onerror?.(new SquintError("INVALID_ARGUMENT", message));
    if (id !== undefined) void this.send({ jsonrpc: "2.0", id, error: { code, message } });
  }

  readonly #onError = (error: Error): void => {
    this.onerror?.(error);
  };

  readonly #onEnd = (): void => {
    this.#inputEnded = true;
    if (this.#inFlight.size === 0) {
      void this.#closeWhenFlushed();
      return;
    }
    this.#drainTimer = setTimeout(() => void this.close(), this.#drainTimeoutMs);
  };

  /** A broken stdout means the client is gone: close quietly, as on stdin's end; anything else is reported. */
  readonly #onOutputError = (error: NodeJS.ErrnoException): void => {
    if (error.code !== "EPIPE" && error.code !== "ERR_STREAM_DESTROYED") this.onerror?.(error);
    void this.close();
  };

  #settled(id: RequestId): void {
    this.#inFlight.delete(id);
    if (this.#inputEnded && this.#inFlight.size === 0) void this.#closeWhenFlushed();
  }

  async #closeWhenFlushed(): Promise<void> {
    await this.#flushed;
    await this.close();
  }

  /** The line to write for a message, or a typed error in its place when it is over the outgoing bound. */
  #serialize(message: JSONRPCMessage): string | undefined {
    let text: string | undefined;
    try {
      text = serializeMessage(message);
    } catch {
      // Past V8's longest string (RangeError: Invalid string length): certainly over the bound.
      text = undefined;
    }
    const bytes = text === undefined ? Number.POSITIVE_INFINITY : Buffer.byteLength(text);
    if (text !== undefined && bytes <= this.#maxOutgoingBytes) return text;
    const error = new SquintError(
      "RESOURCE_EXHAUSTED",
      `A reply of ${Number.isFinite(bytes) ? `${bytes} bytes` : "too many bytes to count"} is over the stdio message limit of ${this.#maxOutgoingBytes} bytes; it was not sent.`,
      { hint: "Ask for less at once (a smaller region or image, fewer results); the server keeps running." },
    );
    this.onerror?.(error);
    const id = answeredId(message);
    if (id === undefined) return undefined;
    const replacement: JSONRPCMessage =
      this.#inFlight.get(id) === "tools/call"
        ? { jsonrpc: "2.0", id, result: errorResult(error) }
        : { jsonrpc: "2.0", id, error: { code: -32603, message: formatError(error), data: error.toJSON() } };
    return serializeMessage(replacement);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return;
    const text = this.#serialize(message);
    if (text !== undefined) await this.#write(text);
    const id = answeredId(message);
    if (id !== undefined) this.#settled(id);
  }

  async #write(text: string): Promise<void> {
    let ok = true;
    this.#flushed = new Promise<void>((resolve) => {
      ok = this.#stdout.write(text, () => resolve());
    });
    if (!ok) await this.#whenWritable();
  }

  #whenWritable(): Promise<void> {
    if (!this.#writable) {
      let release: () => void = () => undefined;
      const promise = new Promise<void>((resolve) => {
        release = () => {
          this.#stdout.off("drain", release);
          this.#stdout.off("close", release);
          this.#writable = undefined;
          resolve();
        };
      });
      this.#stdout.on("drain", release);
      this.#stdout.on("close", release);
      this.#writable = { promise, release };
    }
    return this.#writable.promise;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#drainTimer);
    this.#writable?.release();
    this.#stdin.off("data", this.#onData);
    this.#stdin.off("error", this.#onError);
    this.#stdin.off("end", this.#onEnd);
    this.#pending = [];
    this.#inFlight.clear();
    if (this.#stdin.listenerCount("data") === 0) this.#stdin.pause();
    this.onclose?.();
  }
}

export interface StdioOptions {
  stdin?: Readable;
  stdout?: Writable;
  maxIncomingBytes?: number;
  maxOutgoingBytes?: number;
  drainTimeoutMs?: number;
}

export interface StdioConnection {
  /** Resolves when the client goes away (stdin ends) or the transport closes. */
  closed: Promise<void>;
  close(): Promise<void>;
}

export async function serveStdio(server: McpServer, options: StdioOptions = {}): Promise<StdioConnection> {
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  if (stdout === process.stdout) {
    // stdout is the protocol channel: a stray console.log from any library would corrupt it.
    console.log = console.error;
    console.info = console.error;
    console.debug = console.error;
  }
  const transport = new StdioLineTransport(stdin, stdout, {
    maxLineBytes: options.maxIncomingBytes ?? STDIO_MAX_INCOMING_BYTES,
    ...(options.maxOutgoingBytes === undefined ? {} : { maxOutgoingBytes: options.maxOutgoingBytes }),
    ...(options.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: options.drainTimeoutMs }),
  });
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  transport.onclose = () => resolveClosed();
  await server.connect(transport);
  return {
    closed,
    async close() {
      await server.close();
      resolveClosed();
    },
  };
}
