import { type ChildProcess, spawn } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { expect } from "vitest";
import { repoRoot, squintArgv } from "../support/cli.js";

/** Spawning `squint mcp` from source and talking to it through the SDK's own client transports. */

export interface SpawnedHttpServer {
  url: string;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Starts `squint mcp --http --port 0 ...args` and waits for its "listening on" line. */
export function spawnHttpServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<SpawnedHttpServer> {
  const argv = squintArgv(["mcp", "--http", "--port", "0", ...args]);
  const child: ChildProcess = spawn(argv.command, argv.args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`squint mcp --http did not start:\n${stderr}`)), 60_000);
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          stderr: () => stderr,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`squint mcp --http exited with ${code}:\n${stderr}`));
    });
  });
}

export async function connectHttp(
  url: string,
  token?: string,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: "squint-test", version: "0" });
  await client.connect(transport);
  return { client, transport };
}

export async function connectStdio(args: string[]): Promise<{ client: Client; transport: StdioClientTransport }> {
  const argv = squintArgv(["mcp", ...args]);
  const transport = new StdioClientTransport({ command: argv.command, args: argv.args, cwd: repoRoot, stderr: "pipe" });
  const client = new Client({ name: "squint-test", version: "0" });
  await client.connect(transport);
  return { client, transport };
}

export async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult;
}

export function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === "text" ? part.text : "")).join("\n");
}

/** A tool error as the server must give it: isError, "message (CODE) — hint", no stack, code in _meta. */
export function expectCodedError(result: CallToolResult, code: string): void {
  const text = textOf(result);
  expect(result.isError, `expected ${code}, got: ${text.slice(0, 300)}`).toBe(true);
  expect(text).toContain(`(${code}) — `);
  expect(text).not.toMatch(/\n\s+at /);
  expect(result._meta?.["squint/error"]).toMatchObject({ code });
}
