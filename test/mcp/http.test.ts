import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SquintError } from "../../src/errors.js";
import { type HttpServerHandle, serveHttp } from "../../src/mcp/http.js";
import { createSquintServer, type SquintTool } from "../../src/mcp/server.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { waitTool, waitToolAborts, waitToolStarts } from "./fixture-tools.js";
import { callTool, connectHttp, type SpawnedHttpServer, spawnHttpServer, textOf } from "./harness.js";
import { toolExamples } from "./tool-examples.js";

const TOKEN = "http-test-token";
let dir: string;
let server: SpawnedHttpServer;
let client: Client;
let image: string;

/** Random pixels do not compress: the PNG is about 3 bytes per pixel. */
async function noisyPngDataUri(side: number): Promise<string> {
  const png = await sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString("base64")}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "squint-http-"));
  image = join(dir, "small.png");
  await sharp({ create: { width: 160, height: 120, channels: 3, background: "#2266aa" } })
    .png()
    .toFile(image);
  server = await spawnHttpServer(["--token", TOKEN, "--allow", dir, "--max-body-mb", "2"]);
  ({ client } = await connectHttp(server.url, TOKEN));
}, 90_000);

afterAll(async () => {
  await client?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("squint mcp --http", () => {
  it("binds to loopback by default", () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  it("calls every listed tool through the SDK client", async () => {
    const { tools } = await client.listTools();
    const examples = toolExamples(image, image);
    expect(tools.map((tool) => tool.name).sort()).toEqual(Object.keys(examples).sort());
    for (const tool of tools) {
      const result = await callTool(client, tool.name, examples[tool.name]);
      expect(result.isError, `${tool.name}: ${textOf(result).slice(0, 300)}`).toBeFalsy();
      expect(result.structuredContent, tool.name).toBeTypeOf("object");
    }
  }, 180_000);

  it("accepts an inline image far over Express's 100 kB default body limit", async () => {
    const uri = await noisyPngDataUri(450);
    expect(uri.length).toBeGreaterThan(500_000);
    const result = await callTool(client, "image_info", { image: uri });
    expect(result.structuredContent).toMatchObject({ width: 450, height: 450 });
  }, 60_000);

  it("refuses a body over --max-body-mb with 413, and the session keeps working", async () => {
    const uri = await noisyPngDataUri(900);
    expect(uri.length).toBeGreaterThan(2 * 1024 * 1024);
    await expect(callTool(client, "image_info", { image: uri })).rejects.toThrow(/413|over 2097152 bytes/);
    const after = await callTool(client, "image_info", { image });
    expect(after.structuredContent).toMatchObject({ width: 160, height: 120 });
  }, 60_000);

  it("gives each client its own session and server", async () => {
    const second = await connectHttp(server.url, TOKEN);
    try {
      expect(second.transport.sessionId).toBeTruthy();
      const { transport } = client as unknown as { transport: { sessionId?: string } };
      expect(second.transport.sessionId).not.toBe(transport.sessionId);
      const result = await callTool(second.client, "image_info", { image });
      expect(result.isError).toBeFalsy();
    } finally {
      await second.transport.terminateSession();
      await second.client.close();
    }
  }, 60_000);

  it("answers requests without a session, or with an unknown one, as the spec says", async () => {
    const headers = {
      authorization: `Bearer ${TOKEN}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    };
    const list = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    expect((await fetch(server.url, { method: "POST", headers, body: list })).status).toBe(400);
    const unknown = await fetch(server.url, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": "nope" },
      body: list,
    });
    expect(unknown.status).toBe(404);
    const elsewhere = await fetch(server.url.replace(/\/mcp$/, "/other"), { headers });
    expect(elsewhere.status).toBe(404);
  });
});

describe("serveHttp in-process", () => {
  let handle: HttpServerHandle;

  beforeAll(async () => {
    const store = new ImageStore();
    handle = await serveHttp({
      createServer: () =>
        createSquintServer({ tools: [waitTool] as SquintTool[], store, policy: defaultSourcePolicy() }),
      port: 0,
      maxSessions: 2,
    });
  });

  afterAll(async () => {
    await handle?.close();
  });

  it("streams progress and honours cancellation over HTTP", async () => {
    const { client } = await connectHttp(handle.url);
    try {
      const seen: number[] = [];
      const done = await client.callTool({ name: "test_wait", arguments: { steps: 3, stepMs: 5 } }, undefined, {
        onprogress: (progress) => seen.push(progress.progress),
      });
      expect(done.structuredContent).toEqual({ completed: 3 });
      expect(seen.slice(0, 2)).toEqual([1, 2]);

      const abortsBefore = waitToolAborts.count;
      const startsBefore = waitToolStarts.count;
      const controller = new AbortController();
      const pending = client.callTool({ name: "test_wait", arguments: { steps: 20, stepMs: 1000 } }, undefined, {
        signal: controller.signal,
      });
      // Cancel once the call is running on the server.
      await expect.poll(() => waitToolStarts.count).toBeGreaterThan(startsBefore);
      controller.abort("user cancelled");
      await expect(pending).rejects.toThrow(/cancelled/);
      // The cancel reached the tool on the server, not just the client's promise.
      await expect.poll(() => waitToolAborts.count).toBeGreaterThan(abortsBefore);
      const next = await client.callTool({ name: "test_wait", arguments: { steps: 1, stepMs: 1 } });
      expect(next.structuredContent).toEqual({ completed: 1 });
    } finally {
      await client.close();
    }
  }, 30_000);

  it("refuses a session beyond maxSessions instead of closing a live one", async () => {
    const own = await serveHttp({
      createServer: () =>
        createSquintServer({
          tools: [waitTool] as SquintTool[],
          store: new ImageStore(),
          policy: defaultSourcePolicy(),
        }),
      port: 0,
      maxSessions: 2,
    });
    const first = await connectHttp(own.url);
    const second = await connectHttp(own.url);
    try {
      await expect(connectHttp(own.url)).rejects.toThrow(/busy/i);
      expect((await first.client.listTools()).tools).toHaveLength(1);
      expect((await second.client.listTools()).tools).toHaveLength(1);
    } finally {
      await Promise.all([first, second].map(({ client }) => client.close()));
      await own.close();
    }
  }, 30_000);

  it("refuses to listen beyond loopback without a token", async () => {
    const error = await serveHttp({
      createServer: () => createSquintServer({ tools: [], store: new ImageStore(), policy: defaultSourcePolicy() }),
      host: "0.0.0.0",
      port: 0,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SquintError);
    expect((error as SquintError).code).toBe("INVALID_ARGUMENT");
  });
});
