import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServeHandle } from "../../src/http/server.js";
import { closeDefaultOcrEngine } from "../../src/tools/ocr/ocr-tool.js";
import { startServer } from "../http/harness.js";
import { repoRoot } from "../support/cli.js";
import { hasSharedData, noteMissingShared, sharedData } from "../tools/images.js";

// The README's grounding example (plain fetch), run as a user runs it, against `squint serve` without a model:
// the real OCR engine finds the words on the tesseract.js test page.
noteMissingShared();

function runExample(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/grounding-client.ts", ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

describe("examples/grounding-client.ts", () => {
  let server: ServeHandle;
  const TOKEN = "example-token";

  beforeAll(async () => {
    server = await startServer({ token: TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await closeDefaultOcrEngine();
  });

  it.skipIf(!hasSharedData)("uploads once, then finds text in the image's own pixels", async () => {
    const page = path.join(sharedData, "ocr/tesseractjs-testocr.png");
    const run = await runExample([page, "file format", "zebra crossing"], {
      SQUINT_SERVE_URL: server.url,
      SQUINT_SERVE_TOKEN: TOKEN,
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/uploaded .*: 640×480 as upl_/);
    const line = /"file format": box \[([\d., ]+)\], click at/.exec(run.stdout);
    expect(line, run.stdout).not.toBeNull();
    // Line 3 of the 640×480 page, "of file format.": the box lies in that line's band.
    const [x1, y1, x2, y2] = line![1]!.split(",").map(Number);
    expect(y1).toBeGreaterThan(140);
    expect(y2).toBeLessThan(200);
    expect(x1).toBeGreaterThan(40);
    expect(x2).toBeLessThan(320);
    expect(run.stdout).toMatch(/"zebra crossing": not found — Without a model/);
  });

  it("prints the server's error code and hint", async () => {
    const run = await runExample([path.join(repoRoot, "package.json"), "x"], { SQUINT_SERVE_URL: server.url });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^UNAUTHORIZED: A bearer token is required\. \(.+\) \[request [\w-]+\]/);
  });
});
