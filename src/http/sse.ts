import { PassThrough } from "node:stream";
import type { FastifyReply } from "fastify";

/**
 * A server-sent-event response body. Handed to `reply.send`, so Fastify still writes the headers set on the
 * reply (X-Request-Id) and runs its response hooks. `X-Accel-Buffering: no` keeps proxies from holding
 * events back; writes after the client went away are dropped.
 */
export interface SseStream {
  /** `data: <json>` (with `event: <name>` when given). */
  send(data: unknown, event?: string): void;
  /** A raw data line, e.g. OpenAI's `[DONE]`. */
  sendRaw(data: string): void;
  end(): void;
}

export function openSse(reply: FastifyReply): SseStream {
  const stream = new PassThrough();
  reply
    .code(200)
    .header("content-type", "text/event-stream; charset=utf-8")
    .header("cache-control", "no-cache")
    .header("x-accel-buffering", "no");
  void reply.send(stream);
  const write = (text: string) => {
    if (!stream.destroyed && !stream.writableEnded) stream.write(text);
  };
  return {
    send(data, event) {
      write(`${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`);
    },
    sendRaw(data) {
      write(`data: ${data}\n\n`);
    },
    end() {
      if (!stream.destroyed && !stream.writableEnded) stream.end();
    },
  };
}
