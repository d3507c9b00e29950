import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { type CallToolResult, ListRootsRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createSquintServer, type SquintTool } from "../../src/mcp/server.js";
import { cropTool } from "../../src/tools/crop.js";
import { imageInfoTool } from "../../src/tools/image-info.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { zoomTool } from "../../src/tools/zoom.js";
import { brokenOutputTool, crashTool, waitTool, waitToolAborts, waitToolStarts } from "./fixture-tools.js";

let base: string;
let allowed: string;
let shared: string;
let client: Client;
let linkOnlyClient: Client;
let smallMessageClient: Client;
let roots: { uri: string; name: string }[] = [];

/** A 2400×1600 photo-like image (blurred noise): PNG of it is megabytes, so the inline copy must be downscaled and re-encoded. */
async function writeNoisyPng(path: string, width: number, height: number): Promise<void> {
  const data = randomBytes(width * height * 3);
  await sharp(data, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toFile(path);
}

async function connect(server: ReturnType<typeof createSquintServer>, withRoots: boolean): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const c = new Client(
    { name: "test", version: "0" },
    { capabilities: withRoots ? { roots: { listChanged: true } } : {} },
  );
  if (withRoots) c.setRequestHandler(ListRootsRequestSchema, () => ({ roots }));
  await server.connect(serverSide);
  await c.connect(clientSide);
  return c;
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), "squint-mcp-"));
  allowed = join(base, "allowed");
  shared = join(base, "shared-by-client");
  mkdirSync(allowed);
  mkdirSync(shared);
  await writeNoisyPng(join(allowed, "large.png"), 2400, 1600);
  await sharp({ create: { width: 64, height: 48, channels: 3, background: "#336699" } })
    .png()
    .toFile(join(allowed, "small.png"));
  await sharp({ create: { width: 40, height: 30, channels: 3, background: "#ff0000" } })
    .png()
    .toFile(join(shared, "red.png"));
  writeFileSync(join(allowed, "notes.txt"), "hello");

  const store = new ImageStore();
  const tools = [imageInfoTool, cropTool, zoomTool, waitTool, brokenOutputTool, crashTool] as SquintTool[];
  const policy = defaultSourcePolicy({ allowedDirs: [allowed] });
  client = await connect(createSquintServer({ tools, store, policy }), true);
  linkOnlyClient = await connect(
    createSquintServer({ tools, store, policy, inlineImages: false, useClientRoots: false }),
    false,
  );
  smallMessageClient = await connect(createSquintServer({ tools, store, policy, maxMessageBytes: 64 * 1024 }), false);
});

afterAll(async () => {
  await client?.close();
  await linkOnlyClient?.close();
  await smallMessageClient?.close();
  rmSync(base, { recursive: true, force: true });
});

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === "text" ? part.text : "")).join("\n");
}

async function call(name: string, args: Record<string, unknown>, on: Client = client): Promise<CallToolResult> {
  return (await on.callTool({ name, arguments: args })) as CallToolResult;
}

async function expectToolError(result: CallToolResult, code: string): Promise<void> {
  expect(result.isError).toBe(true);
  const text = textOf(result);
  expect(text).toContain(`(${code})`);
  expect(text).toContain(" — "); // message, code, then the hint
  expect(text).not.toMatch(/\n\s+at /); // never a stack
  expect(result.structuredContent).toBeUndefined();
  expect(result._meta?.["squint/error"]).toMatchObject({ code });
}

describe("squint MCP server (in-process)", () => {
  it("lists every tool with object input and output schemas", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([
      "image_info",
      "image_crop",
      "image_zoom_in_tool",
      "test_wait",
      "test_broken_output",
      "test_crash",
    ]);
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe("object");
      expect(tool.outputSchema?.type).toBe("object");
    }
    const zoom = tools.find((tool) => tool.name === "image_zoom_in_tool");
    expect(zoom?.inputSchema.properties?.bbox_2d).toMatchObject({ type: "array", minItems: 4, maxItems: 4 });
    expect(zoom?.inputSchema.required).toEqual(["bbox_2d"]);
  });

  it("returns a large result as a small inline image plus a link to the full resolution", async () => {
    const result = await call("image_crop", { image: join(allowed, "large.png"), bbox_2d: [0, 0, 1000, 1000] });
    expect(result.isError).toBeFalsy();
    const structured = result.structuredContent as { image: { id: string; width: number; height: number } };
    expect(structured.image).toMatchObject({ width: 2400, height: 1600 });
    expect(JSON.stringify(structured).length).toBeLessThan(4000); // boxes and sizes, no pixels

    const images = result.content.filter((part) => part.type === "image");
    expect(images).toHaveLength(1);
    const inline = images[0].type === "image" ? images[0] : undefined;
    const bytes = Buffer.from(inline?.data ?? "", "base64");
    expect(inline?.data.length).toBeLessThan(1024 * 1024);
    const meta = await sharp(bytes).metadata();
    expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBeLessThanOrEqual(1568);
    expect((meta.width ?? 0) * (meta.height ?? 0)).toBeLessThanOrEqual(1_150_000);
    expect(`image/${meta.format}`).toBe(inline?.mimeType);
    expect((meta.width ?? 0) / (meta.height ?? 1)).toBeCloseTo(1.5, 1);

    const link = result.content.find((part) => part.type === "resource_link");
    expect(link).toMatchObject({ type: "resource_link", uri: `squint://images/${structured.image.id}` });
    const read = await client.readResource({ uri: `squint://images/${structured.image.id}` });
    const blob = read.contents[0] && "blob" in read.contents[0] ? read.contents[0].blob : "";
    const full = await sharp(Buffer.from(blob, "base64")).metadata();
    expect([full.width, full.height]).toEqual([2400, 1600]);

    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri)).toContain(`squint://images/${structured.image.id}`);
  });

  it("keeps a small result at its own size and format", async () => {
    const result = await call("image_crop", { image: join(allowed, "small.png"), bbox_2d: [0, 0, 500, 500] });
    const inline = result.content.find((part) => part.type === "image");
    const meta = await sharp(Buffer.from(inline?.type === "image" ? inline.data : "", "base64")).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([32, 24, "png"]);
  });

  it("chains tools through the image link, and maps back to the original", async () => {
    const first = await call("image_crop", { image: join(allowed, "small.png"), bbox_2d: [500, 500, 1000, 1000] });
    const id = (first.structuredContent as { image: { id: string } }).image.id;
    const info = await call("image_info", { image: `squint://images/${id}` });
    expect(info.isError).toBeFalsy();
    expect(info.structuredContent).toMatchObject({ id, width: 32, height: 24, operation: "crop" });
    expect(
      (info.structuredContent as { extentInOriginal: { originalPixels: number[] } }).extentInOriginal.originalPixels,
    ).toEqual([32, 24, 64, 48]);
  });

  it("sends links only (no inline pixels) when told to, for in-process clients", async () => {
    const result = await call(
      "image_crop",
      { image: join(allowed, "small.png"), bbox_2d: [0, 0, 1000, 1000] },
      linkOnlyClient,
    );
    expect(result.content.some((part) => part.type === "image")).toBe(false);
    expect(result.content.some((part) => part.type === "resource_link")).toBe(true);
  });

  it("turns each bad call into a coded error result and keeps serving", async () => {
    await expectToolError(await call("image_info", { image: "squint://images/img-999" }), "NOT_FOUND");
    await expectToolError(
      await call("image_crop", { image: join(allowed, "small.png"), bbox_2d: [1, 2, 3] }),
      "INVALID_ARGUMENT",
    );
    await expectToolError(await call("image_info", { image: join(allowed, "notes.txt") }), "IMAGE_UNSUPPORTED");
    await expectToolError(await call("image_info", { image: join(base, "elsewhere.png") }), "PATH_NOT_ALLOWED");
    await expectToolError(
      await call("image_info", { image: "http://169.254.169.254/latest/meta-data" }),
      "URL_NOT_ALLOWED",
    );
    await expectToolError(await call("test_broken_output", {}), "INTERNAL");
    await expectToolError(await call("test_crash", {}), "TOOL_FAILED");
    const after = await call("image_info", { image: join(allowed, "small.png") });
    expect(after.isError).toBeFalsy();
  });

  it("answers an unknown tool with a protocol error naming the tools", async () => {
    const error = await client.callTool({ name: "no_such_tool", arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32602);
    expect((error as McpError).message).toContain("UNKNOWN_TOOL");
    expect((error as McpError).message).toContain("image_crop");
    expect((error as McpError).message).not.toMatch(/MCP error -32602: MCP error/);
  });

  it("never sends a resource read over its message limit: it says to crop instead", async () => {
    const result = await call(
      "image_crop",
      { image: join(allowed, "large.png"), bbox_2d: [0, 0, 1000, 1000] },
      smallMessageClient,
    );
    const { id } = (result.structuredContent as { image: { id: string } }).image;
    const error = await smallMessageClient.readResource({ uri: `squint://images/${id}` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).message).toContain("IMAGE_TOO_LARGE");
    expect((error as McpError).message).toContain("Crop or zoom");
  });

  it("answers a missing resource with resource-not-found", async () => {
    const error = await client.readResource({ uri: "squint://images/img-424242" }).catch((e: unknown) => e);
    expect((error as McpError).code).toBe(-32002);
  });

  it("lets the client's roots narrow --allow but never widen it, following roots/list_changed", async () => {
    const red = join(shared, "red.png");
    const small = join(allowed, "small.png");
    expect((await call("image_info", { image: small })).isError).toBeFalsy();
    roots = [{ uri: pathToFileURL(shared).href, name: "shared" }];
    await client.sendRootsListChanged();
    // The server asks for the new roots in the background; poll until a call sees them (small becomes refused:
    // a root outside --allow adds nothing, and it narrows what --allow gave to nothing).
    await expect.poll(async () => (await call("image_info", { image: small })).isError).toBe(true);
    await expectToolError(await call("image_info", { image: red }), "PATH_NOT_ALLOWED");
    await expectToolError(await call("image_info", { image: small }), "PATH_NOT_ALLOWED");
    roots = [{ uri: pathToFileURL(allowed).href, name: "allowed" }];
    await client.sendRootsListChanged();
    await expect.poll(async () => (await call("image_info", { image: small })).isError).toBeFalsy();
    roots = [];
    await client.sendRootsListChanged();
  });

  it("reports progress and honours cancellation", async () => {
    const seen: number[] = [];
    const done = await client.callTool({ name: "test_wait", arguments: { steps: 3, stepMs: 5 } }, undefined, {
      onprogress: (progress) => seen.push(progress.progress),
    });
    expect(done.structuredContent).toEqual({ completed: 3 });
    expect(seen.slice(0, 2)).toEqual([1, 2]); // the last note may race the result (SDK issue #2580)

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
    const next = await call("test_wait", { steps: 1, stepMs: 1 });
    expect(next.structuredContent).toEqual({ completed: 1 });
  });
});

describe("the server's time limit for one tool call", () => {
  const stuckInput = z.object({});
  /** A tool that ignores its signal and never answers. */
  const stuckTool: SquintTool = {
    name: "test_stuck",
    title: "Stuck",
    description: "Never answers and ignores cancellation.",
    inputSchema: stuckInput,
    outputSchema: z.object({}),
    run: () => new Promise(() => {}),
  };

  async function limitedClient(toolTimeoutMs: number): Promise<Client> {
    const tools = [waitTool, stuckTool] as SquintTool[];
    const server = createSquintServer({ tools, store: new ImageStore(), policy: defaultSourcePolicy(), toolTimeoutMs });
    return connect(server, false);
  }

  it("fails a call past toolTimeoutMs with TOOL_TIMEOUT and aborts the tool's signal", async () => {
    const limited = await limitedClient(200);
    const abortsBefore = waitToolAborts.count;
    const result = (await limited.callTool({
      name: "test_wait",
      arguments: { steps: 20, stepMs: 1000 },
    })) as CallToolResult;
    await expectToolError(result, "TOOL_TIMEOUT");
    expect(result._meta?.["squint/error"]).toMatchObject({ details: { timeoutMs: 200 } });
    expect(waitToolAborts.count).toBeGreaterThan(abortsBefore);
    // A call within the limit is untouched.
    const quick = await limited.callTool({ name: "test_wait", arguments: { steps: 1, stepMs: 1 } });
    expect(quick.structuredContent).toEqual({ completed: 1 });
    await limited.close();
  });

  it("answers at the limit even when the tool ignores its signal", async () => {
    const limited = await limitedClient(200);
    await expectToolError(
      (await limited.callTool({ name: "test_stuck", arguments: {} })) as CallToolResult,
      "TOOL_TIMEOUT",
    );
    await limited.close();
  });

  it("refuses a limit that is not a whole number of ms ≥ 0", () => {
    for (const toolTimeoutMs of [-1, 1.5, Number.NaN, 2 ** 40]) {
      expect(() =>
        createSquintServer({ tools: [], store: new ImageStore(), policy: defaultSourcePolicy(), toolTimeoutMs }),
      ).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
  });
});
