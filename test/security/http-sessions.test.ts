import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mcpServerOptions, parseMcpArgs } from "../../src/cli/commands/mcp.js";
import { type HttpServerHandle, serveHttp } from "../../src/mcp/http.js";
import { createSquintServer } from "../../src/mcp/server.js";
import { builtinTools } from "../../src/tools/index.js";
import { connectHttp } from "../mcp/harness.js";

/**
 * Issue 10, isolation over HTTP: sessions shared one image store with sequential ids, so a new session read
 * another's images, labels and source paths through image_info and resources/read; and opening 64 sessions
 * closed other clients' live ones. Now: a store per session (one pixel memory for all), random ids, a cap
 * per client and overall that refuses instead of evicting, and idle sessions expire.
 */
let dir: string;
let photo: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "squint-sessions-"));
  photo = join(dir, "private-photo.png");
  await sharp({ create: { width: 300, height: 200, channels: 3, background: "#884422" } })
    .png()
    .toFile(photo);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serve(extra: Partial<Parameters<typeof serveHttp>[0]> = {}): Promise<HttpServerHandle> {
  const options = mcpServerOptions(parseMcpArgs(["--http", "--allow", dir], {}), builtinTools());
  return serveHttp({ createServer: () => createSquintServer(options), host: "127.0.0.1", port: 0, ...extra });
}

function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
}

describe("HTTP sessions are isolated", () => {
  it("does not let a new session see another session's images, labels or paths", async () => {
    const handle = await serve();
    const alice = await connectHttp(handle.url);
    const mallory = await connectHttp(handle.url);
    try {
      const zoom = await call(alice.client, "image_zoom_in_tool", {
        image: photo,
        bbox_2d: [0, 0, 500, 500],
        label: "alice's secret",
      });
      expect(zoom.isError).toBeFalsy();
      const structured = zoom.structuredContent as { image: { id: string }; source: { id: string } };
      const ids = [structured.image.id, structured.source.id];
      // Unguessable: not img-1, img-2, … but 16 random base-36 characters.
      for (const id of ids) expect(id).toMatch(/^img-[0-9a-z]{16}$/);
      // Guessing the old sequential ids finds nothing either.
      for (const id of [...ids, "img-1", "img-2", "img-3"]) {
        const info = await call(mallory.client, "image_info", { image: id });
        expect(info.isError).toBe(true);
        expect(JSON.stringify(info)).not.toMatch(/private-photo|alice's secret/);
        await expect(mallory.client.readResource({ uri: `squint://images/${id}` })).rejects.toThrow(/No image/);
      }
      const listed = await mallory.client.listResources();
      expect(JSON.stringify(listed)).not.toMatch(/alice|img-/);
      // The owner still sees its own.
      const own = await call(alice.client, "image_info", { image: structured.image.id });
      expect(own.isError).toBeFalsy();
      expect(JSON.stringify(own.structuredContent)).toContain("alice's secret");
    } finally {
      await alice.client.close();
      await mallory.client.close();
      await handle.close();
    }
  }, 60_000);

  it("keeps ids per session when two sessions open the same file (its decoded pixels are shared)", async () => {
    const handle = await serve();
    const alice = await connectHttp(handle.url);
    const mallory = await connectHttp(handle.url);
    try {
      const zoomA = await call(alice.client, "image_zoom_in_tool", {
        image: photo,
        bbox_2d: [0, 0, 500, 500],
        label: "alice's secret",
      });
      const zoomM = await call(mallory.client, "image_zoom_in_tool", { image: photo, bbox_2d: [0, 0, 500, 500] });
      const a = zoomA.structuredContent as { image: { id: string }; source: { id: string } };
      const m = zoomM.structuredContent as { image: { id: string }; source: { id: string } };
      // Same file, same pixels, but each session's own id for it.
      expect(m.source.id).not.toBe(a.source.id);
      for (const id of [a.source.id, a.image.id]) {
        const info = await call(mallory.client, "image_info", { image: id });
        expect(info.isError).toBe(true);
        expect(JSON.stringify(info)).not.toMatch(/alice's secret/);
      }
      const listed = await mallory.client.listResources();
      expect(JSON.stringify(listed)).not.toContain(a.source.id);
      expect(JSON.stringify(listed)).not.toMatch(/alice's secret/);
      // Alice closing her session leaves Mallory's image readable.
      await alice.client.close();
      const still = await call(mallory.client, "image_zoom_in_tool", { image: m.source.id, bbox_2d: [0, 0, 900, 900] });
      expect(still.isError).toBeFalsy();
    } finally {
      await alice.client.close();
      await mallory.client.close();
      await handle.close();
    }
  }, 60_000);

  it("refuses sessions over the per-client cap instead of closing other clients' live sessions", async () => {
    const handle = await serve({ maxSessions: 6, maxSessionsPerClient: 3 });
    const victim = await connectHttp(handle.url, undefined);
    const opened: Awaited<ReturnType<typeof connectHttp>>[] = [];
    try {
      // The same address: the victim's one plus two more fill this client's three.
      for (let i = 0; i < 2; i++) opened.push(await connectHttp(handle.url));
      let refused = 0;
      for (let i = 0; i < 64; i++) {
        try {
          opened.push(await connectHttp(handle.url));
        } catch (error) {
          expect(String(error)).toMatch(/Too many sessions|busy/i);
          refused++;
        }
      }
      expect(refused).toBe(64);
      // The first session is still alive.
      expect((await victim.client.listTools()).tools.length).toBeGreaterThan(0);
    } finally {
      await Promise.all([victim, ...opened].map(({ client }) => client.close()));
      await handle.close();
    }
  }, 60_000);

  it("closes a session that stays idle past sessionIdleMs, freeing its place", async () => {
    const handle = await serve({ maxSessions: 1, sessionIdleMs: 300 });
    const first = await connectHttp(handle.url);
    try {
      await expect(connectHttp(handle.url)).rejects.toThrow(/busy/i);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await expect(first.client.listTools()).rejects.toThrow(/404|Session not found/);
      const second = await connectHttp(handle.url);
      expect((await second.client.listTools()).tools.length).toBeGreaterThan(0);
      await second.client.close();
    } finally {
      await first.client.close();
      await handle.close();
    }
  }, 30_000);
});
