import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";
import { SquintError, toSquintError } from "../../errors.js";

/**
 * A stdio client transport for servers whose replies carry images. The SDK's own keeps the unread output in
 * one Buffer that it re-concatenates on every chunk, so a 12 MB line read in pipe-sized pieces costs gigabytes
 * of copying (measured: ~10 s for one 8.7 MB PNG on a loaded two-core machine). Here chunks are kept in a
 * list and joined once per line, the newline search only looks at the new chunk, and a line may be as long
 * as `maxLineBytes` (the SDK's default cap, 10 MiB, drops the connection on one large image).
 */

export interface LineStdioOptions {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  maxLineBytes: number;
}

/** The last bytes a server wrote to stderr, for error messages (never the whole stream). */
const STDERR_TAIL_BYTES = 4096;

export class LineStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  #options: LineStdioOptions;
  #child: ChildProcessWithoutNullStreams | undefined;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #stderrTail = "";

  constructor(options: LineStdioOptions) {
    this.#options = options;
  }

  /** What the server last wrote to stderr (its crash message, usually). */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  start(): Promise<void> {
    if (this.#child) throw new SquintError("INTERNAL", "LineStdioTransport already started.");
    return new Promise((resolve, reject) => {
      const child = spawn(this.#options.command, this.#options.args, {
        env: this.#options.env,
        ...(this.#options.cwd === undefined ? {} : { cwd: this.#options.cwd }),
        stdio: ["pipe", "pipe", "pipe"],
        shell: false,
        windowsHide: true,
      });
      this.#child = child;
      child.once("error", (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.once("spawn", () => resolve());
      child.once("close", () => {
        this.#child = undefined;
        this.onclose?.();
      });
      child.stdin.on("error", (error) => this.onerror?.(error));
      child.stdout.on("data", (chunk: Buffer) => this.#read(chunk));
      child.stderr.setEncoding("utf8").on("data", (text: string) => {
        this.#stderrTail = (this.#stderrTail + text).slice(-STDERR_TAIL_BYTES);
      });
    });
  }

  #read(chunk: Buffer): void {
    let start = 0;
    let newline = chunk.indexOf(0x0a);
    while (newline !== -1) {
      const piece = chunk.subarray(start, newline);
      const line = this.#pending.length === 0 ? piece : Buffer.concat([...this.#pending, piece]);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#deliver(line);
      start = newline + 1;
      newline = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#pendingBytes += rest.length;
      if (this.#pendingBytes > this.#options.maxLineBytes) {
        this.#pending = [];
        this.#pendingBytes = 0;
        this.onerror?.(
          new SquintError("TOOL_FAILED", `A message from the server exceeds ${this.#options.maxLineBytes} bytes.`, {
            hint: "Raise maxLineBytes for this server, or have it return images as links.",
          }),
        );
        void this.close();
        return;
      }
      this.#pending.push(rest);
    }
  }

  #deliver(line: Buffer): void {
    const text = line.toString("utf8").replace(/\r$/, "");
    if (text.trim() === "") return;
    try {
      this.onmessage?.(JSONRPCMessageSchema.parse(JSON.parse(text)));
    } catch (error) {
      this.onerror?.(toSquintError(error, "TOOL_FAILED"));
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    const child = this.#child;
    if (!child) return Promise.reject(new SquintError("INTERNAL", "LineStdioTransport.send before start()."));
    return new Promise((resolve) => {
      if (child.stdin.write(`${JSON.stringify(message)}\n`)) resolve();
      else child.stdin.once("drain", () => resolve());
    });
  }

  async close(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    this.#pending = [];
    if (!child) return;
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const grace = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
    child.stdin.end();
    await Promise.race([closed, grace(2000)]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await Promise.race([closed, grace(2000)]);
    }
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
