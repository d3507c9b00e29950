import { PassThrough } from "node:stream";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StdioLineTransport, splitJsonTexts } from "../../src/mcp/stdio.js";

const messages: JSONRPCMessage[] = [
  { jsonrpc: "2.0", id: 1, method: "tools/list" },
  { jsonrpc: "2.0", method: "notifications/initialized" },
  { jsonrpc: "2.0", id: "two", method: "tools/call", params: { name: "x", arguments: { text: "ünïcödé ✓ 🎉" } } },
];

function harness(maxLineBytes?: number) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const transport = new StdioLineTransport(stdin, stdout, maxLineBytes === undefined ? {} : { maxLineBytes });
  const received: JSONRPCMessage[] = [];
  const errors: string[] = [];
  let closed = false;
  transport.onmessage = (message) => received.push(message);
  transport.onerror = (error) => errors.push(error.message);
  transport.onclose = () => {
    closed = true;
  };
  return { stdin, stdout, transport, received, errors, isClosed: () => closed };
}

/** Feeds bytes to the transport's data handler in the given pieces, synchronously. */
function feed(stdin: PassThrough, bytes: Buffer, cuts: number[]): void {
  let from = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b).concat(bytes.length)) {
    if (cut > from) stdin.emit("data", bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
}

describe("StdioLineTransport", () => {
  it("reads the same messages however the byte stream is cut (multi-byte characters included)", async () => {
    const bytes = Buffer.from(messages.map((message) => `${JSON.stringify(message)}\n`).join(""));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 40 }), async (cuts) => {
        const h = harness();
        await h.transport.start();
        feed(h.stdin, bytes, cuts);
        expect(h.received).toEqual(messages);
        expect(h.errors).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it("accepts CRLF line ends and skips blank lines", async () => {
    const h = harness();
    await h.transport.start();
    h.stdin.emit("data", Buffer.from(`\r\n${JSON.stringify(messages[0])}\r\n\n${JSON.stringify(messages[1])}\n`));
    expect(h.received).toEqual([messages[0], messages[1]]);
  });

  it.each([
    [
      "id last, as the SDK writes it",
      { method: "tools/call", params: { data: "A".repeat(1000), id: 3 }, jsonrpc: "2.0", id: 9 },
      9,
    ],
    ["id first", { jsonrpc: "2.0", id: "req-7", method: "tools/call", params: { data: "A".repeat(1000) } }, "req-7"],
    [
      "a notification (no id)",
      { jsonrpc: "2.0", method: "notifications/x", params: { data: "A".repeat(1000) } },
      undefined,
    ],
  ])("drops a line over the limit alone, answers it at once (%s) and keeps reading", async (_name, huge, id) => {
    const h = harness(200);
    await h.transport.start();
    feed(h.stdin, Buffer.from(`${JSON.stringify(huge)}\n${JSON.stringify(messages[0])}\n`), [50, 300, 700]);
    expect(h.received).toEqual([messages[0]]);
    expect(h.errors).toHaveLength(1);
    expect(h.errors[0]).toMatch(/over 200 bytes/);
    expect(h.isClosed()).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    const written = h.stdout.read() as Buffer | null;
    if (id === undefined) {
      expect(written).toBeNull();
    } else {
      const reply = JSON.parse(written?.toString() ?? "{}");
      expect(reply).toMatchObject({ jsonrpc: "2.0", id, error: { code: -32600 } });
      expect(reply.error.message).toContain("by path or URL");
    }
  });

  it("reports a line that is not JSON-RPC and goes on", async () => {
    const h = harness();
    await h.transport.start();
    h.stdin.emit("data", Buffer.from(`not json\n${JSON.stringify(messages[0])}\n`));
    expect(h.received).toEqual([messages[0]]);
    expect(h.errors).toHaveLength(1);
  });

  it("writes one line per message and closes when input ends", async () => {
    const h = harness();
    await h.transport.start();
    await h.transport.send(messages[2]);
    expect(h.stdout.read().toString()).toBe(`${JSON.stringify(messages[2])}\n`);
    h.stdin.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.isClosed()).toBe(true);
  });
});

describe("splitJsonTexts", () => {
  it("splits objects written back to back, with braces and quotes inside strings, and nothing else", () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.array(fc.string()))), {
          minLength: 2,
          maxLength: 5,
        }),
        fc.constantFrom("", " ", "\t"),
        (objects, gap) => {
          const texts = objects.map((object) => JSON.stringify(object));
          expect(splitJsonTexts(texts.join(gap))?.map((text) => JSON.parse(text))).toEqual(objects);
        },
      ),
      { numRuns: 200 },
    );
    expect(splitJsonTexts('{"a":1}')).toBeUndefined();
    expect(splitJsonTexts('{"a":1} x {"b":2}')).toBeUndefined();
    expect(splitJsonTexts('{"a":1}}{"b":2}')).toBeUndefined();
    expect(splitJsonTexts('{"a":"}{"}{"b":2}')).toEqual(['{"a":"}{"}', '{"b":2}']);
  });
});
