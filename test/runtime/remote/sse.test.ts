import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readServerSentEvents, type ServerSentEvent, SseDecoder } from "../../../src/runtime/remote/sse.js";

function decodeAll(chunks: (string | Uint8Array)[]): ServerSentEvent[] {
  const decoder = new SseDecoder();
  return [...chunks.flatMap((chunk) => decoder.push(chunk)), ...decoder.end()];
}

describe("SseDecoder", () => {
  it("reads data events, skips comments, joins multi-line data and keeps event names", () => {
    const stream = ': keep-alive\n\ndata: {"a":1}\n\nevent: error\ndata: line one\ndata:line two\n\ndata: [DONE]\n\n';
    expect(decodeAll([stream])).toEqual([
      { event: "message", data: '{"a":1}' },
      { event: "error", data: "line one\nline two" },
      { event: "message", data: "[DONE]" },
    ]);
  });

  it("accepts CRLF and CR line ends, even split between chunks", () => {
    expect(decodeAll(["data: a\r", "\n\r", "\ndata: b\r\r"])).toEqual([
      { event: "message", data: "a" },
      { event: "message", data: "b" },
    ]);
  });

  it("decodes UTF-8 split inside a character", () => {
    const bytes = new TextEncoder().encode("data: 图片🔍\n\n");
    expect(decodeAll([bytes.subarray(0, 8), bytes.subarray(8, 11), bytes.subarray(11)])).toEqual([
      { event: "message", data: "图片🔍" },
    ]);
  });

  it("dispatches a last event whose blank line never came", () => {
    expect(decodeAll(["data: x\n\ndata: tail"])).toEqual([
      { event: "message", data: "x" },
      { event: "message", data: "tail" },
    ]);
  });

  it("gives the same events for any split of the byte stream (property)", () => {
    const event = fc.record({
      name: fc.option(fc.constantFrom("error", "ping"), { nil: undefined }),
      lines: fc.array(
        fc.string({ unit: "grapheme", maxLength: 12 }).filter((line) => !/[\r\n]/.test(line)),
        { minLength: 1, maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 6 }),
        fc.constantFrom("\n", "\r\n", "\r"),
        fc.array(fc.nat(), { maxLength: 10 }),
        (events, eol, cuts) => {
          const text = events
            .map(
              ({ name, lines }) =>
                `${name ? `event: ${name}${eol}` : ""}${lines.map((line) => `data: ${line}${eol}`).join("")}${eol}`,
            )
            .join("");
          const bytes = new TextEncoder().encode(text);
          const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let start = 0;
          for (const point of [...points, bytes.length]) {
            chunks.push(bytes.subarray(start, point));
            start = point;
          }
          const expected = events.map(({ name, lines }) => ({ event: name ?? "message", data: lines.join("\n") }));
          expect(decodeAll(chunks)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads an async byte stream", async () => {
    async function* body() {
      yield new TextEncoder().encode("data: 1\n");
      yield new TextEncoder().encode("\ndata: 2\n\n");
    }
    const events: ServerSentEvent[] = [];
    for await (const event of readServerSentEvents(body())) events.push(event);
    expect(events.map((event) => event.data)).toEqual(["1", "2"]);
  });
});
