import { PassThrough, Writable } from "node:stream";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { StdioLineTransport } from "../../src/mcp/stdio.js";

/**
 * Issue 10: the stdio transport's outgoing bound must hold — one reply over the client's line limit made the
 * SDK client drop the connection, so the server was as good as dead. And every send blocked on a full stdout
 * added its own 'drain' listener (MaxListenersExceededWarning after ten).
 */

/** A server and an SDK client joined by two pipes, each end on a StdioLineTransport. */
async function linkedOverPipes(maxOutgoingBytes: number): Promise<{ client: Client; serverErrors: Error[] }> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const server = new McpServer({ name: "huge", version: "0" });
  server.registerTool("echo", { inputSchema: { size: z.number() } }, ({ size }) => ({
    content: [{ type: "text", text: "x".repeat(size) }],
  }));
  const serverTransport = new StdioLineTransport(toServer, toClient, { maxOutgoingBytes });
  const serverErrors: Error[] = [];
  await server.connect(serverTransport);
  const sdkOnError = serverTransport.onerror;
  serverTransport.onerror = (error) => {
    serverErrors.push(error);
    sdkOnError?.(error);
  };
  const client = new Client({ name: "c", version: "0" });
  await client.connect(new StdioLineTransport(toClient, toServer));
  return { client, serverErrors };
}

describe("stdio outgoing bound", () => {
  it("replaces a reply over the bound with a typed tool error, and keeps serving", async () => {
    const { client, serverErrors } = await linkedOverPipes(64 * 1024);
    const huge = (await client.callTool({ name: "echo", arguments: { size: 200 * 1024 } })) as CallToolResult;
    expect(huge.isError).toBe(true);
    expect((huge._meta as Record<string, { code: string }>)["squint/error"].code).toBe("RESOURCE_EXHAUSTED");
    expect(JSON.stringify(huge).length).toBeLessThan(2048);
    expect(serverErrors.map((error) => error.message).join()).toMatch(/over the stdio message limit/);
    const small = (await client.callTool({ name: "echo", arguments: { size: 10 } })) as CallToolResult;
    expect(small.isError).toBeFalsy();
    expect(small.content).toEqual([{ type: "text", text: "x".repeat(10) }]);
    await client.close();
  });

  it("answers a non-tool request over the bound with a JSON-RPC error carrying the code", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const transport = new StdioLineTransport(stdin, stdout, { maxOutgoingBytes: 1024 });
    transport.onerror = () => undefined;
    await transport.start();
    stdin.emit("data", Buffer.from(`${JSON.stringify({ jsonrpc: "2.0", id: 5, method: "resources/read" })}\n`));
    await transport.send({ jsonrpc: "2.0", id: 5, result: { contents: [{ uri: "x", text: "y".repeat(5000) }] } });
    const reply = JSON.parse((stdout.read() as Buffer).toString());
    expect(reply).toMatchObject({ id: 5, error: { code: -32603, data: { code: "RESOURCE_EXHAUSTED" } } });
  });
});

describe("stdio backpressure", () => {
  it("waits for one 'drain' however many sends are blocked, and delivers them all in order", async () => {
    const written: string[] = [];
    let release: (() => void) | undefined;
    // A slow reader: each write completes only when the test lets it.
    const stdout = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _encoding, callback) {
        written.push(chunk.toString());
        release = callback;
      },
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    const transport = new StdioLineTransport(new PassThrough(), stdout);
    await transport.start();
    const messages: JSONRPCMessage[] = Array.from({ length: 40 }, (_, i) => ({
      jsonrpc: "2.0",
      method: "notifications/message",
      params: { level: "info", data: `message ${i}` },
    }));
    const sends = messages.map((message) => transport.send(message));
    expect(stdout.listenerCount("drain")).toBeLessThanOrEqual(1);
    while (written.length < messages.length) {
      const next = release;
      release = undefined;
      next?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    release?.();
    await Promise.all(sends);
    await new Promise((resolve) => setImmediate(resolve));
    process.off("warning", onWarning);
    expect(warnings.filter((warning) => warning.name === "MaxListenersExceededWarning")).toEqual([]);
    expect(written.map((line) => JSON.parse(line).params.data)).toEqual(messages.map((_, i) => `message ${i}`));
    expect(stdout.listenerCount("drain")).toBe(0);
  });
});

describe("stdio end of input", () => {
  it("closes after the drain timeout when a request never gets its reply", async () => {
    const stdin = new PassThrough();
    const transport = new StdioLineTransport(stdin, new PassThrough(), { drainTimeoutMs: 50 });
    let closed = false;
    transport.onclose = () => {
      closed = true;
    };
    await transport.start();
    stdin.end(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x" } })}\n`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(true);
  });

  it("does not wait for a request the client cancelled", async () => {
    const stdin = new PassThrough();
    const transport = new StdioLineTransport(stdin, new PassThrough(), { drainTimeoutMs: 60_000 });
    let closed = false;
    transport.onclose = () => {
      closed = true;
    };
    await transport.start();
    stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x" } })}\n`);
    stdin.end(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } })}\n`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(true);
  });
});
