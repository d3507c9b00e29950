import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/cli.js";
import { CHROMIUM, hasChromium } from "../support/chromium.js";

// The README's GUI example, run as a user would run it (it imports "squint/gui", i.e. the built package), with
// the system Chromium against the page it serves on loopback. No model: text targets by OCR.
describe.skipIf(!hasChromium)("examples/gui-automation.ts", () => {
  it("clicks, types and submits by text, replays from the cache, and writes a trace", async () => {
    const traceDir = mkdtempSync(join(tmpdir(), "squint-gui-example-"));
    const env: NodeJS.ProcessEnv = { ...process.env, SQUINT_CHROMIUM: CHROMIUM };
    delete env.SQUINT_BASE_URL;
    const child = spawn(process.execPath, ["--import", "tsx", "examples/gui-automation.ts", traceDir], {
      cwd: repoRoot,
      env,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).not.toMatch(/Error|at .*\.ts:/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^clicked "Menu" at .* on <button> "Menu" — ocr, scale 2, cache miss, verified true$/m);
    expect(stdout).toMatch(/^clicked "Archive" at .* "Archive" — ocr, scale 2, cache miss, verified true$/m);
    expect(stdout).toMatch(/^typed into <input> "Email address" — verified true$/m);
    expect(stdout).toMatch(/^page says: Subscribed ada@example\.com$/m);
    expect(stdout).toMatch(/^replayed "Menu" — cache hit, method cache$/m);
    // The page's own listener, not squint, says what was clicked.
    expect(stdout).toMatch(/^page recorded clicks on: Menu, Archive, Email address, Subscribe, Menu$/m);
    expect(existsSync(join(traceDir, "step-0001.png"))).toBe(true);
    expect(readFileSync(join(traceDir, "index.html"), "utf8")).toContain('class="box"');
  }, 120_000);
});
