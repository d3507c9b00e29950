import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { PassThrough } from "node:stream";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectCommand, inspectImage } from "../../src/cli/commands/inspect.js";
import { main } from "../../src/cli/main.js";
import { runSquint, sharedRoot } from "../support/cli.js";

const scratch = mkdtempSync(join(tmpdir(), "squint-inspect-"));
const generated = join(scratch, "720x1040.png");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
beforeAll(async () => {
  await sharp({ create: { width: 1040, height: 720, channels: 3, background: "#336699" } })
    .png()
    .toFile(generated);
});

describe("squint inspect", () => {
  it("prints original size, resized size, grid and visual tokens", async () => {
    const run = await runSquint(["inspect", generated]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/original:\s+1040×720/);
    // 720×1040 -> 704×1024 (Python half-even rounding), grid [1, 44, 64], 704 tokens.
    expect(run.stdout).toMatch(/resized:\s+1024×704/);
    expect(run.stdout).toMatch(/grid \(t,h,w\):\s+\[1, 44, 64\]/);
    expect(run.stdout).toMatch(/visual tokens:\s+704\b/);
  });

  it("prints JSON and honours --min-pixels/--max-pixels", async () => {
    const run = await runSquint(["inspect", generated, "--json", "--max-pixels", "200704", "--min-pixels", "4096"]);
    expect(run.code).toBe(0);
    const report: unknown = JSON.parse(run.stdout);
    // beta = sqrt(748800 / 200704): 720/beta/32 = 11.6 -> 352, 1040/beta/32 = 16.8 -> 512.
    expect(report).toEqual({
      image: generated,
      original: { width: 1040, height: 720 },
      resized: { width: 512, height: 352 },
      gridThw: [1, 22, 32],
      visualTokens: 176,
      minPixels: 4096,
      maxPixels: 200704,
    });
  });

  it("reports a missing file and a bad budget as errors with hints, not stack traces", async () => {
    // main() in-process: the same error printing as the binary, without another child process.
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const code = await main(["inspect", join(scratch, "absent.png")], { stdout, stderr, isTTY: false });
    const printed = String(stderr.read() ?? "");
    expect(code).toBe(1);
    expect(printed).toMatch(/^squint inspect: .*\(NOT_FOUND\) — /);
    expect(printed).not.toMatch(/at .*\.ts:\d+/);
    expect(stdout.read()).toBeNull();
    await expect(inspectImage(generated, { maxPixels: 1000, minPixels: 5000 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    // Argument checks run in-process (no child process needed): the command throws a SquintError for main to print.
    const io = { stdout: new PassThrough(), stderr: new PassThrough(), isTTY: false };
    await expect(inspectCommand.run([generated, "--max-pixels", "lots"], io)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("--max-pixels"),
      hint: expect.any(String),
    });
    await expect(inspectCommand.run([], io)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

const sharedAvailable = existsSync(join(sharedRoot, "data", "MANIFEST.json"));
if (!sharedAvailable) console.warn(`skipping shared-image inspect tests: ${sharedRoot}data not found`);

describe.skipIf(!sharedAvailable)("squint inspect on the shared test images (skipped without ../shared/data)", () => {
  it("gives the half-even sizes for real 1280×720 and 400×905 images", async () => {
    const photo = await inspectImage(join(sharedRoot, "data", "ocr", "icdar15-img1-theatre-carpark-sign.jpg"));
    expect(photo.original).toEqual({ width: 1280, height: 720 });
    expect(photo.resized).toEqual({ width: 1280, height: 704 }); // Math.round would give 736
    expect(photo.visualTokens).toBe(880);
    const mobile = await inspectImage(join(sharedRoot, "data", "gui", "midscene-heytea-mobile-order.png"));
    // 400/32 = 12.5 -> 12 (Math.round: 13), 905/32 = 28.3 -> 28.
    expect(mobile).toMatchObject({
      original: { width: 400, height: 905 },
      resized: { width: 384, height: 896 },
      gridThw: [1, 56, 24],
      visualTokens: 336,
    });
  });
});
