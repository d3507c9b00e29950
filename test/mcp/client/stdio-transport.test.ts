import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { LineStdioTransport } from "../../../src/mcp/client/stdio-transport.js";

/** A child that writes the pieces to stdout one by one (a pause between them), then exits. */
function writer(pieces: string[]): LineStdioTransport {
  const program = `
    const pieces = ${JSON.stringify(pieces)};
    (async () => {
      for (const piece of pieces) {
        process.stdout.write(piece);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Writes to a pipe are synchronous on Linux: everything is out before the exit.
      process.exit(0);
    })();
  `;
  return new LineStdioTransport({
    command: process.execPath,
    args: ["-e", program],
    env: { PATH: process.env.PATH ?? "" },
    maxLineBytes: 1000,
  });
}

function collect(transport: LineStdioTransport) {
  const messages: JSONRPCMessage[] = [];
  const errors: string[] = [];
  transport.onmessage = (message) => messages.push(message);
  transport.onerror = (error) => errors.push(error.message);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  return { messages, errors, closed };
}

const note = (n: number) => JSON.stringify({ jsonrpc: "2.0", method: "notifications/message", params: { n } });

describe("LineStdioTransport", () => {
  it("reassembles messages split across chunks, several per chunk, with CRLF", async () => {
    const [a, b, c] = [note(1), note(2), note(3)];
    const transport = writer([a.slice(0, 10), `${a.slice(10)}\n${b}\r\n${c.slice(0, 5)}`, `${c.slice(5)}\n`]);
    const { messages, errors, closed } = collect(transport);
    await transport.start();
    await closed;
    expect(errors).toEqual([]);
    expect(messages.map((message) => ("params" in message ? message.params?.n : undefined))).toEqual([1, 2, 3]);
  });

  it("drops the connection on a line over the limit, and reports non-JSON lines as errors", async () => {
    const transport = writer(["not json\n", "x".repeat(600), "y".repeat(600)]);
    const { messages, errors, closed } = collect(transport);
    await transport.start();
    await closed;
    expect(messages).toEqual([]);
    expect(errors[0]).toMatch(/JSON/);
    expect(errors.at(-1)).toMatch(/exceeds 1000 bytes/);
  });
});
