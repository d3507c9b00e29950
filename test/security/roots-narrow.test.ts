import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { type CallToolResult, ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSquintServer, type SquintTool } from "../../src/mcp/server.js";
import { imageInfoTool } from "../../src/tools/image-info.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";

/**
 * Issue 10: over HTTP a client's roots were added to --allow, so a client declaring file:/// read any image on
 * the machine. Roots may narrow what the operator allowed, never widen it.
 */
let base: string;
let allowed: string;
let outside: string;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), "squint-roots-"));
  allowed = join(base, "allowed");
  outside = join(base, "outside");
  mkdirSync(join(allowed, "sub"), { recursive: true });
  mkdirSync(outside);
  for (const file of [join(allowed, "a.png"), join(allowed, "sub", "b.png"), join(outside, "secret.png")]) {
    await sharp({ create: { width: 8, height: 8, channels: 3, background: "#123456" } })
      .png()
      .toFile(file);
  }
  // A root that is a symlink inside --allow pointing outside must not widen either.
  symlinkSync(outside, join(allowed, "link-out"));
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

async function clientWithRoots(roots: string[], allowedDirs: string[], grant = false): Promise<Client> {
  const server = createSquintServer({
    tools: [imageInfoTool] as SquintTool[],
    store: new ImageStore(),
    policy: defaultSourcePolicy({ allowedDirs }),
    rootsGrantWithoutAllow: grant,
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "roots", version: "0" }, { capabilities: { roots: { listChanged: true } } });
  client.setRequestHandler(ListRootsRequestSchema, () => ({
    roots: roots.map((root, i) => ({ uri: root.startsWith("file:") ? root : pathToFileURL(root).href, name: `r${i}` })),
  }));
  await server.connect(serverSide);
  await client.connect(clientSide);
  return client;
}

async function codeOf(client: Client, image: string): Promise<string> {
  const result = (await client.callTool({ name: "image_info", arguments: { image } })) as CallToolResult;
  if (!result.isError) return "read";
  return (result._meta as Record<string, { code: string }>)["squint/error"]!.code;
}

describe("client roots against --allow", () => {
  it("a root of file:/// does not widen --allow", async () => {
    const client = await clientWithRoots(["file:///"], [allowed]);
    expect(await codeOf(client, join(outside, "secret.png"))).toBe("PATH_NOT_ALLOWED");
    expect(await codeOf(client, join(allowed, "a.png"))).toBe("read");
    await client.close();
  });

  it("a root inside --allow narrows it", async () => {
    const client = await clientWithRoots([join(allowed, "sub")], [allowed]);
    expect(await codeOf(client, join(allowed, "sub", "b.png"))).toBe("read");
    expect(await codeOf(client, join(allowed, "a.png"))).toBe("PATH_NOT_ALLOWED");
    await client.close();
  });

  it("a root that is a symlink inside --allow to a directory outside does not widen it", async () => {
    const client = await clientWithRoots([join(allowed, "link-out")], [allowed]);
    expect(await codeOf(client, join(allowed, "link-out", "secret.png"))).toBe("PATH_NOT_ALLOWED");
    expect(await codeOf(client, join(outside, "secret.png"))).toBe("PATH_NOT_ALLOWED");
    await client.close();
  });

  it("with no --allow, roots grant nothing unless the server says so (stdio)", async () => {
    const http = await clientWithRoots(["file:///"], []);
    expect(await codeOf(http, join(outside, "secret.png"))).toBe("PATH_NOT_ALLOWED");
    await http.close();
    const stdio = await clientWithRoots([outside], [], true);
    expect(await codeOf(stdio, join(outside, "secret.png"))).toBe("read");
    expect(await codeOf(stdio, join(allowed, "a.png"))).toBe("PATH_NOT_ALLOWED");
    await stdio.close();
  });
});
