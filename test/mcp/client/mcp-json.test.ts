// biome-ignore-all lint/suspicious/noTemplateCurlyInString: mcp.json ${VAR} placeholders are what these tests are about.
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SquintError } from "../../../src/errors.js";
import { expandVariables, loadMcpJson, parseMcpJson } from "../../../src/mcp/client/mcp-json.js";

describe("parseMcpJson", () => {
  it("reads the mcpServers shape with stdio and HTTP entries", () => {
    const servers = parseMcpJson(
      {
        mcpServers: {
          files: { command: "node", args: ["server.js", "--root", "${HOME_DIR}"], env: { TOKEN: "${env:TOK}" } },
          remote: {
            type: "http",
            url: "http://127.0.0.1:${PORT:-3000}/mcp",
            headers: { Authorization: "Bearer ${TOK}" },
          },
        },
      },
      { env: { HOME_DIR: "/home/a", TOK: "s3cret" } },
    );
    expect(servers).toEqual([
      {
        name: "files",
        transport: "stdio",
        command: "node",
        args: ["server.js", "--root", "/home/a"],
        env: { TOKEN: "s3cret" },
      },
      {
        name: "remote",
        transport: "http",
        url: "http://127.0.0.1:3000/mcp",
        headers: { Authorization: "Bearer s3cret" },
      },
    ]);
  });

  it("reads VS Code's servers shape, sse type, allow-lists and skips disabled entries", () => {
    const servers = parseMcpJson({
      servers: {
        a: { type: "stdio", command: "x", tools: ["crop"] },
        b: { type: "sse", url: "https://example.com/sse", includeTools: ["ocr"] },
        c: { command: "y", disabled: true },
      },
      inputs: [],
    });
    expect(servers.map((s) => [s.name, s.transport, s.allowTools])).toEqual([
      ["a", "stdio", ["crop"]],
      ["b", "sse", ["ocr"]],
    ]);
  });

  it("rejects an entry that is neither stdio nor HTTP with a hint", () => {
    try {
      parseMcpJson({ mcpServers: { bad: { args: ["x"] } } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SquintError);
      expect((error as SquintError).code).toBe("INVALID_CONFIG");
      expect((error as SquintError).message).toContain('"bad"');
      expect((error as SquintError).hint).toBeTruthy();
    }
  });

  it("rejects a file with no server list and a bad url", () => {
    expect(() => parseMcpJson({ other: {} })).toThrow(/neither "mcpServers" nor "servers"/);
    expect(() => parseMcpJson({ mcpServers: { u: { url: "not a url" } } })).toThrow(/invalid url/);
  });
});

describe("expandVariables", () => {
  const where = "test";
  it("expands env forms and defaults, and refuses missing variables and VS Code inputs", () => {
    expect(expandVariables("${A}-${env:B}-${C:-dflt}", { env: { A: "1", B: "2" }, where })).toBe("1-2-dflt");
    expect(expandVariables("${workspaceFolder}/x", { env: {}, workspaceFolder: "/w", where })).toBe("/w/x");
    expect(() => expandVariables("${MISSING}", { env: {}, where })).toThrow(/MISSING/);
    expect(() => expandVariables("${input:key}", { env: {}, where })).toThrow(/prompt input/);
  });
});

describe("loadMcpJson", () => {
  it("maps ${workspaceFolder} to the parent of .vscode and reports bad JSON", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "squint-mcpjson-"));
    mkdirSync(path.join(root, ".vscode"));
    const file = path.join(root, ".vscode", "mcp.json");
    writeFileSync(file, JSON.stringify({ servers: { s: { command: "${workspaceFolder}/bin/server" } } }));
    const [server] = await loadMcpJson(file, { env: {} });
    expect(server).toMatchObject({ command: `${root}/bin/server` });
    writeFileSync(file, "{ nope");
    await expect(loadMcpJson(file)).rejects.toMatchObject({ code: "INVALID_CONFIG" });
    await expect(loadMcpJson(path.join(root, "absent.json"))).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
