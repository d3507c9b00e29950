import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, squintArgv } from "../support/cli.js";
import { encode, gradient } from "../tools/images.js";

/**
 * Issue 10, `squint mcp` over stdio spoken to as raw lines (no SDK client in between, so nothing is smoothed
 * over): a BOM-prefixed line and two objects on one line got no answer; array `arguments` came back as -32603
 * with a raw zod dump; on stdin's end the server exited and dropped the replies still running; on a broken
 * stdout (EPIPE) it died with a stack trace; a 4 MiB path came back as a 4 MiB error.
 */

interface Reply {
  id?: string | number | null;
  result?: { isError?: boolean; structuredContent?: unknown; _meta?: Record<string, { code?: string }> };
  error?: { code: number; message: string };
}

interface Server {
  child: ChildProcess;
  replies: Reply[];
  stderr: () => string;
  exited: Promise<number | null>;
  write(text: string): void;
  waitFor(count: number, timeoutMs?: number): Promise<Reply[]>;
}

let dir: string;
let image: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "squint-stdio-raw-"));
  image = join(dir, "gradient.png");
  writeFileSync(image, await encode(gradient(1600, 1200)));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const initialize = `${JSON.stringify({
  jsonrpc: "2.0",
  id: "init",
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
})}\n${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`;

function startServer(): Server {
  const argv = squintArgv(["mcp", "--allow", dir]);
  const child = spawn(argv.command, argv.args, { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
  const replies: Reply[] = [];
  let stderr = "";
  let partial = "";
  const waiters: Array<() => void> = [];
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) replies.push(JSON.parse(line) as Reply);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    replies,
    stderr: () => stderr,
    exited,
    write: (text) => child.stdin?.write(text),
    async waitFor(count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (replies.length < count) {
        if (Date.now() > deadline) throw new Error(`${replies.length} of ${count} replies; stderr:\n${stderr}`);
        await new Promise<void>((wake) => {
          waiters.push(wake);
          setTimeout(wake, 200);
        });
      }
      return replies;
    },
  };
}

function byId(replies: Reply[], id: string | number): Reply | undefined {
  return replies.find((reply) => reply.id === id);
}

describe("squint mcp over stdio, raw lines", () => {
  it("answers a BOM-prefixed line, two objects on one line, and array arguments with a short -32602", async () => {
    const server = startServer();
    server.write(initialize);
    server.write(`\uFEFF${JSON.stringify({ jsonrpc: "2.0", id: "bom", method: "ping" })}\n`);
    server.write(
      `${JSON.stringify({ jsonrpc: "2.0", id: "first", method: "ping" })}${JSON.stringify({ jsonrpc: "2.0", id: "second", method: "ping" })}\n`,
    );
    server.write(
      `${JSON.stringify({ jsonrpc: "2.0", id: "array", method: "tools/call", params: { name: "image_info", arguments: [1, 2] } })}\n`,
    );
    server.write(
      `${JSON.stringify({ jsonrpc: "2.0", id: "long-path", method: "tools/call", params: { name: "image_info", arguments: { image: join(dir, "a".repeat(4 * 1024 * 1024)) } } })}\n`,
    );
    const replies = await server.waitFor(6);
    expect(byId(replies, "bom")?.result).toEqual({});
    expect(byId(replies, "first")?.result).toEqual({});
    expect(byId(replies, "second")?.result).toEqual({});
    const array = byId(replies, "array");
    expect(array?.error?.code).toBe(-32602);
    expect(array?.error?.message).toMatch(/arguments/);
    expect(array?.error?.message.length).toBeLessThan(300);
    const longPath = byId(replies, "long-path");
    expect(longPath?.result?.isError).toBe(true);
    expect(JSON.stringify(longPath).length).toBeLessThan(4096);
    server.child.stdin?.end();
    expect(await server.exited).toBe(0);
  }, 60_000);

  it("answers every request still running when stdin ends, then exits 0", async () => {
    const server = startServer();
    server.write(initialize);
    await server.waitFor(1);
    const calls = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({
        jsonrpc: "2.0",
        id: i,
        method: "tools/call",
        params: { name: "image_zoom_in_tool", arguments: { image, bbox_2d: [0, 0, 900 - i * 10, 900] } },
      }),
    );
    // The requests and the end of input in one go, as a client that writes its work and closes its end.
    server.child.stdin?.end(`${calls.join("\n")}\n`);
    expect(await server.exited).toBe(0);
    const answered = server.replies.filter((reply) => typeof reply.id === "number");
    expect(answered).toHaveLength(12);
    for (const reply of answered) expect(reply.result?.isError, JSON.stringify(reply).slice(0, 300)).toBeFalsy();
  }, 60_000);

  it("exits quietly (0, no stack trace) when stdout breaks", async () => {
    const server = startServer();
    server.write(initialize);
    await server.waitFor(1);
    // The client goes away without closing stdin: the server's next write gets EPIPE.
    server.child.stdout?.destroy();
    server.write(`${JSON.stringify({ jsonrpc: "2.0", id: "after", method: "ping" })}\n`);
    server.write(`${JSON.stringify({ jsonrpc: "2.0", id: "again", method: "ping" })}\n`);
    const timer = setTimeout(() => server.child.kill("SIGKILL"), 30_000);
    const code = await server.exited;
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(server.stderr()).not.toMatch(/EPIPE|\n\s+at /);
  }, 60_000);
});
