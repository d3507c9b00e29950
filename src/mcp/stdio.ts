import type { Readable, Writable } from "node:stream";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { deserializeMessage, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { SquintError, toSquintError } from "../errors.js";

/**
 * `squint mcp` over stdio: one server, one client, newline-delimited JSON-RPC on stdin/stdout.
 *
 * Our own transport instead of the SDK's StdioServerTransport, for two measured reasons:
 * - the SDK drops the whole connection on any incoming line over 10 MiB, and a tool argument may carry a
 *   base64 image; we read lines up to 64 MiB, and a longer one is dropped alone (the connection stays up,
 *   and a dropped request is answered with an error at once instead of leaving the client to time out);
 * - the SDK's ReadBuffer concatenates the whole pending buffer on every 64 kB pipe chunk and searches it
 *   again for a newline, which is quadratic in the line's length; we keep the chunks and scan each once
 *   (bench/mcp/stdio-lines.ts: the first 11 MB line of a fresh process took 12.7 s there, 0.6 s here).
 * What the server *sends* is bounded separately (inline images are small; resource reads stay under the
 * server's maxMessageBytes), because the client's own limit is usually the SDK's default.
 */
export const STDIO_MAX_INCOMING_BYTES = 64 * 1024 * 1024;

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

export class StdioLineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #stdin: Readable;
  readonly #stdout: Writable;
  readonly #maxLineBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** True while skipping the rest of a line that was over the limit. */
  #discarding = false;
  /** The first and last bytes of a line being skipped: enough to find its request id. */
  #droppedEnds = { head: Buffer.alloc(0), tail: Buffer.alloc(0) };
  #closed = false;

  constructor(stdin: Readable, stdout: Writable, options: { maxLineBytes?: number } = {}) {
    this.#stdin = stdin;
    this.#stdout = stdout;
    this.#maxLineBytes = options.maxLineBytes ?? STDIO_MAX_INCOMING_BYTES;
  }

  async start(): Promise<void> {
    this.#stdin.on("data", this.#onData);
    this.#stdin.on("error", this.#onError);
    this.#stdin.once("end", this.#onEnd);
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
    const line = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString("utf8").replace(/\r$/, "");
    if (line.trim() === "") return;
    let message: JSONRPCMessage;
    try {
      message = deserializeMessage(line);
    } catch (error) {
      this.onerror?.(toSquintError(error, "INVALID_ARGUMENT"));
      return;
    }
    this.onmessage?.(message);
  }

  readonly #onError = (error: Error): void => {
    this.onerror?.(error);
  };

  readonly #onEnd = (): void => {
    void this.close();
  };

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return;
    const text = serializeMessage(message);
    if (!this.#stdout.write(text)) {
      await new Promise<void>((resolve) => this.#stdout.once("drain", resolve));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stdin.off("data", this.#onData);
    this.#stdin.off("error", this.#onError);
    this.#stdin.off("end", this.#onEnd);
    this.#pending = [];
    if (this.#stdin.listenerCount("data") === 0) this.#stdin.pause();
    this.onclose?.();
  }
}

export interface StdioOptions {
  stdin?: Readable;
  stdout?: Writable;
  maxIncomingBytes?: number;
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
