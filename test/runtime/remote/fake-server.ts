import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback HTTP server that answers chat-completion requests from a script: each request takes the next
 * scripted answer (status, headers, body bytes in chunks, optionally a dropped connection), and its body
 * is recorded for the test to inspect.
 */

export interface ScriptedAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** Body text, written in pieces of `chunkSize` bytes (so SSE lines and tags straddle network reads). */
  body?: string;
  chunkSize?: number;
  /** Pause between pieces, ms. */
  delayMs?: number;
  /** Write this many bytes of the body, then destroy the socket (a dropped connection). */
  dropAfterBytes?: number;
}

export interface RecordedRequest {
  url: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

export const fixture = (name: string): string => readFileSync(new URL(`fixtures/${name}`, import.meta.url), "utf8");

export const sse = (name: string, chunkSize = 37): ScriptedAnswer => ({
  headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
  body: fixture(name),
  chunkSize,
});

export class FakeServer {
  readonly requests: RecordedRequest[] = [];
  private readonly script: ScriptedAnswer[] = [];
  private readonly server: Server;

  private constructor() {
    this.server = createServer((request, response) => {
      void this.answer(request, response);
    });
  }

  static async start(): Promise<FakeServer> {
    const fake = new FakeServer();
    await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Queues answers, used in order. */
  queue(...answers: ScriptedAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    this.requests.push({ url: request.url ?? "", headers: request.headers, body: text ? JSON.parse(text) : undefined });
    const answer = this.script.shift() ?? { status: 500, body: '{"error": "no scripted answer left"}' };
    const body = Buffer.from(answer.body ?? "", "utf8");
    response.writeHead(answer.status ?? 200, answer.headers ?? { "content-type": "application/json" });
    const limit = answer.dropAfterBytes ?? body.length;
    const size = answer.chunkSize ?? (body.length || 1);
    for (let offset = 0; offset < limit; offset += size) {
      response.write(body.subarray(offset, Math.min(offset + size, limit)));
      if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
      if (response.destroyed) return;
    }
    if (answer.dropAfterBytes !== undefined) {
      response.socket?.destroy();
      return;
    }
    response.end();
  }
}
