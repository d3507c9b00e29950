import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mcpServerOptions, parseMcpArgs, workReserveBytes } from "../../../src/cli/commands/mcp.js";
import { SquintError } from "../../../src/errors.js";
import { runSquint } from "../../support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "squint-cli-mcp-"));
writeFileSync(join(dir, "file.txt"), "x");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof SquintError) {
      expect(error.hint).toBeTruthy();
      return error.code;
    }
    return `raw ${(error as Error).name}`;
  }
  return "no error";
}

describe("squint mcp arguments", () => {
  it("defaults to stdio with nothing allowed but the client's roots", () => {
    const args = parseMcpArgs([], {});
    expect(args).toMatchObject({ http: false, allow: [], allowPrivateUrls: false, noRoots: false });
    const options = mcpServerOptions(args, []);
    expect(options.policy).toMatchObject({ allowedDirs: [], allowPrivateUrls: false, trustedHosts: [] });
    expect(options.useClientRoots).toBe(true);
  });

  it("reads the token from SQUINT_MCP_TOKEN, the flag winning", () => {
    expect(parseMcpArgs(["--http"], { SQUINT_MCP_TOKEN: "from-env" }).token).toBe("from-env");
    expect(parseMcpArgs(["--http", "--token", "flag"], { SQUINT_MCP_TOKEN: "from-env" }).token).toBe("flag");
  });

  it("turns the limits into a source policy", () => {
    const args = parseMcpArgs(
      [
        "--allow",
        dir,
        "--allow-url-host",
        "images.internal",
        "--allow-private-urls",
        "--max-image-mb",
        "2.5",
        "--fetch-timeout-s",
        "1.5",
        "--no-roots",
      ],
      {},
    );
    const options = mcpServerOptions(args, []);
    expect(options.policy).toMatchObject({
      allowedDirs: [dir],
      trustedHosts: ["images.internal"],
      allowPrivateUrls: true,
      maxBytes: 2.5 * 1024 * 1024,
      fetchTimeoutMs: 1500,
    });
    expect(options.useClientRoots).toBe(false);
    const store = typeof options.store === "function" ? options.store() : options.store;
    expect(store.limits.maxInputBytes).toBe(2.5 * 1024 * 1024);
  });

  it.each([
    [["--port", "3000"], "INVALID_ARGUMENT"], // HTTP-only flag without --http
    [["--token", "t"], "INVALID_ARGUMENT"],
    [["--http", "--port", "70000"], "INVALID_ARGUMENT"],
    [["--http", "--port", "http"], "INVALID_ARGUMENT"],
    [["--http", "--max-body-mb", "0"], "INVALID_ARGUMENT"],
    [["stray"], "INVALID_ARGUMENT"],
  ])("refuses %j", (argv, code) => {
    expect(codeOf(() => parseMcpArgs(argv, {}))).toBe(code);
  });

  it("holds back 32 MiB of the work budget per resize thread, at most half of it", () => {
    const MIB = 1024 * 1024;
    expect(workReserveBytes(4, undefined)).toBe(128 * MIB);
    expect(workReserveBytes(4, 384)).toBe(128 * MIB);
    expect(workReserveBytes(6, 256)).toBe(128 * MIB);
    expect(workReserveBytes(1, 1024)).toBe(32 * MIB);
  });

  it("refuses an --allow that is not a directory", () => {
    expect(codeOf(() => mcpServerOptions(parseMcpArgs(["--allow", join(dir, "file.txt")], {}), []))).toBe(
      "INVALID_ARGUMENT",
    );
    expect(codeOf(() => mcpServerOptions(parseMcpArgs(["--allow", join(dir, "missing")], {}), []))).toBe(
      "INVALID_ARGUMENT",
    );
  });

  it("refuses to serve HTTP beyond loopback without a token, saying why", async () => {
    const run = await runSquint(["mcp", "--http", "--host", "0.0.0.0", "--port", "0"], {
      env: { SQUINT_MCP_TOKEN: "" },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("without a token");
    expect(run.stderr).toContain("--token");
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
