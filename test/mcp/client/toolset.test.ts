// biome-ignore-all lint/suspicious/noTemplateCurlyInString: mcp.json ${VAR} placeholders are part of what is tested.
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectConfigured } from "../../../src/mcp/client/connection.js";
import { parseMcpJson } from "../../../src/mcp/client/mcp-json.js";
import { McpToolset } from "../../../src/mcp/client/toolset.js";
import { ImageStore } from "../../../src/tools/store/image-store.js";
import { repoRoot } from "../../support/cli.js";

const fixture = "test/mcp/client/fixtures/image-server.mjs";

function stdioConfig(allow?: string[]) {
  return parseMcpJson(
    {
      mcpServers: {
        fixture: {
          command: process.execPath,
          args: [`\${REPO}${fixture}`],
          env: { FIXTURE_SECRET: "${env:FIXTURE_SECRET_SOURCE}" },
          ...(allow ? { tools: allow } : {}),
        },
      },
    },
    { env: { REPO: repoRoot, FIXTURE_SECRET_SOURCE: "s3cret" } },
  );
}

async function pixelAt(store: ImageStore, id: string): Promise<[number, number, number]> {
  const { data } = store.pixels(id);
  return [data[0], data[1], data[2]];
}

describe("MCP toolset over stdio (a server from mcp.json)", () => {
  const store = new ImageStore();
  let toolset: McpToolset;
  beforeAll(async () => {
    const [config] = stdioConfig();
    toolset = await McpToolset.open([{ connection: connectConfigured(config) }], store);
  });
  afterAll(async () => {
    await toolset?.close();
  });

  it("lists the server's tools and passes expanded env to the child", async () => {
    expect(toolset.tools.map((tool) => tool.name).sort()).toEqual(
      ["barrier", "big_image", "crash", "embed_image", "fail", "hang", "link_image", "make_image", "pid"].sort(),
    );
    const result = await toolset.call("make_image", { size: 40 }, { timeoutMs: 10_000 });
    expect(result.text).toContain("secret: s3cret");
  });

  it("turns inline images, resource links and embedded resources into stored images", async () => {
    const inline = await toolset.call("make_image", { size: 40 }, { timeoutMs: 10_000 });
    const linked = await toolset.call("link_image", {}, { timeoutMs: 10_000 });
    const embedded = await toolset.call("embed_image", {}, { timeoutMs: 10_000 });
    expect([inline.ok, linked.ok, embedded.ok]).toEqual([true, true, true]);
    expect(inline.images).toHaveLength(1);
    expect(store.get(inline.images[0])).toMatchObject({ width: 40, height: 40 });
    expect(await pixelAt(store, inline.images[0])).toEqual([0, 200, 0]);
    expect(store.get(linked.images[0])).toMatchObject({ width: 64, height: 64 });
    expect(await pixelAt(store, linked.images[0])).toEqual([0, 0, 255]);
    expect(await pixelAt(store, embedded.images[0])).toEqual([255, 0, 0]);
  });

  it("takes an image result larger than the SDK's default 10 MiB stdio message", async () => {
    const big = await toolset.call("big_image", {}, { timeoutMs: 60_000 });
    expect(big.ok, big.text).toBe(true);
    expect(store.get(big.images[0])).toMatchObject({ width: 1700, height: 1700 });
  });

  it("tells a tool error from a timeout and from a dropped connection, and reconnects after a crash", async () => {
    const failed = await toolset.call("fail", {}, { timeoutMs: 10_000 });
    expect(failed).toMatchObject({ ok: false, failure: "tool-error" });
    expect(failed.text).toContain("the fixture failed on purpose");

    const hung = await toolset.call("hang", {}, { timeoutMs: 300 });
    expect(hung).toMatchObject({ ok: false, failure: "timeout" });

    const before = await toolset.call("pid", {}, { timeoutMs: 10_000 });
    const crashed = await toolset.call("crash", {}, { timeoutMs: 10_000 });
    expect(crashed).toMatchObject({ ok: false, failure: "protocol-error" });
    expect(crashed.text).toContain('MCP server "fixture" failed');
    const after = await toolset.call("pid", {}, { timeoutMs: 20_000 });
    expect(after.ok).toBe(true);
    expect(after.text).not.toBe(before.text);
  });

  it("an aborted call throws ABORTED rather than reporting a failure", async () => {
    const controller = new AbortController();
    const call = toolset.call("hang", {}, { timeoutMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(call).rejects.toMatchObject({ code: "ABORTED" });
  });
});

describe("MCP toolset allow-list and HTTP", () => {
  it("keeps only allow-listed tools and refuses an allow-list naming a missing tool", async () => {
    const store = new ImageStore();
    const [config] = stdioConfig(["make_image"]);
    const toolset = await McpToolset.open(
      [{ connection: connectConfigured(config), allowTools: config.allowTools }],
      store,
    );
    try {
      expect(toolset.tools.map((tool) => tool.name)).toEqual(["make_image"]);
    } finally {
      await toolset.close();
    }
    const [bad] = stdioConfig(["no_such_tool"]);
    await expect(
      McpToolset.open([{ connection: connectConfigured(bad), allowTools: bad.allowTools }], store),
    ).rejects.toMatchObject({ code: "INVALID_CONFIG" });
  });

  it("calls a Streamable HTTP server and stores its image", async () => {
    const child: ChildProcess = spawn(process.execPath, [fixture, "--http"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout?.setEncoding("utf8").once("data", (line: string) => resolve(line.trim()));
        child.once("exit", (code) => reject(new Error(`fixture exited with ${code}`)));
      });
      const store = new ImageStore();
      const [config] = parseMcpJson({ servers: { web: { type: "http", url } } });
      const toolset = await McpToolset.open([{ connection: connectConfigured(config) }], store);
      try {
        const result = await toolset.call("make_image", { size: 16 }, { timeoutMs: 10_000 });
        expect(result.ok).toBe(true);
        expect(store.get(result.images[0])).toMatchObject({ width: 16, height: 16 });
      } finally {
        await toolset.close();
      }
    } finally {
      child.kill();
    }
  });
});
