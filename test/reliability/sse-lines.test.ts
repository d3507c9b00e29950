import { describe, expect, it } from "vitest";
import { isSquintError } from "../../src/errors.js";
import { readServerSentEvents, SseDecoder } from "../../src/runtime/remote/sse.js";

/**
 * Issue 10: the SSE decoder re-searched its whole buffer on every chunk (a 50 MB line took ~36 s against
 * 1.8 s for the same bytes as 1 kB deltas) and kept any line however long. Now one scan per chunk, and an
 * event over the limit fails with a typed error. The timing comparison is bench/runtime/sse-lines.ts; here the
 * test timeout only guards against the quadratic case coming back (it took minutes for this input).
 */
async function* chunks(text: string, size: number): AsyncGenerator<string> {
  for (let at = 0; at < text.length; at += size) yield text.slice(at, at + size);
}

describe("SSE decoding under hostile streams", () => {
  it("reads a 24 MB data line sent in 16 kB chunks", { timeout: 30_000 }, async () => {
    const payload = "x".repeat(24 * 1024 * 1024);
    const decoder = readServerSentEvents(chunks(`data: ${payload}\n\ndata: [DONE]\n\n`, 16 * 1024), {
      maxEventChars: 32 * 1024 * 1024,
    });
    const events: string[] = [];
    for await (const event of decoder) events.push(event.data);
    expect(events.length).toBe(2);
    expect(events[0]!.length).toBe(payload.length);
    expect(events[1]).toBe("[DONE]");
  });

  it("refuses a line that never ends once it passes the limit, without reading the rest", async () => {
    let sent = 0;
    async function* endless(): AsyncGenerator<string> {
      const piece = "y".repeat(64 * 1024);
      for (;;) {
        sent += piece.length;
        yield piece;
      }
    }
    let error: unknown;
    try {
      for await (const _ of readServerSentEvents(endless(), { maxEventChars: 1024 * 1024 })) void _;
    } catch (caught) {
      error = caught;
    }
    expect(isSquintError(error) && error.code).toBe("BACKEND_FAILED");
    expect(sent).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
  });

  it("bounds an event made of many data lines too", () => {
    const decoder = new SseDecoder({ maxEventChars: 10_000 });
    expect(() => {
      for (let i = 0; i < 1000; i++) decoder.push(`data: ${"z".repeat(100)}\n`);
    }).toThrow(/over 10000 characters/);
  });

  it("keeps the default limit at 16 Mi characters", () => {
    const decoder = new SseDecoder();
    expect(() => decoder.push("a".repeat(16 * 1024 * 1024 + 1))).toThrow(/without ending it/);
  });
});
