import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMcpArgs } from "../../src/cli/commands/mcp.js";
import { parseMcpJson } from "../../src/mcp/client/mcp-json.js";
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from "../../src/mcp/http.js";
import { repoRoot } from "../support/cli.js";

/** The repository's mcp.json: what an IDE copies to register `squint mcp`, and what the agent reads. */
const file = JSON.parse(readFileSync(join(repoRoot, "mcp.json"), "utf8")) as {
  mcpServers: Record<string, { command?: string; args?: string[]; url?: string; disabled?: boolean }>;
};

describe("mcp.json", () => {
  it("registers squint mcp over stdio with arguments the command accepts", () => {
    const entry = file.mcpServers.squint;
    expect(entry.command).toBe("npx");
    const args = entry.args ?? [];
    const mcpAt = args.indexOf("mcp");
    expect(args[mcpAt - 1]).toBe("squint");
    const parsed = parseMcpArgs(args.slice(mcpAt + 1), {});
    expect(parsed.http).toBe(false);
    // "." would allow whatever directory the host happens to start servers in.
    expect(parsed.allow).not.toContain(".");
  });

  it("gives an HTTP example whose URL matches the default bind and port of squint mcp --http", () => {
    const entry = file.mcpServers["squint-http"];
    expect(entry.url).toBe(`http://${DEFAULT_HTTP_HOST}:${DEFAULT_HTTP_PORT}/mcp`);
  });

  it("parses with the agent's loader, disabled examples left out until enabled", () => {
    const servers = parseMcpJson(file, { env: {} });
    expect(servers.map((server) => server.name)).toEqual(["squint"]);
    const enabled = structuredClone(file);
    for (const entry of Object.values(enabled.mcpServers)) entry.disabled = false;
    const all = parseMcpJson(enabled, { env: { SQUINT_MCP_TOKEN: "t" } });
    expect(all.map((server) => server.name)).toEqual(["squint", "squint-http", "playwright"]);
    expect(all.find((server) => server.name === "squint-http")).toMatchObject({
      transport: "http",
      headers: { Authorization: "Bearer t" },
    });
    expect(all.find((server) => server.name === "playwright")).toMatchObject({
      transport: "stdio",
      allowTools: expect.any(Array),
    });
  });
});
