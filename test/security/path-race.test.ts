import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSquintError } from "../../src/errors.js";
import { readImageFile } from "../../src/tools/sources/path.js";

/**
 * Issue 10: the path check could be raced. Replacing a directory inside --allow with a symlink to one outside,
 * between the check and the open, read the outside file (3 times in 56 tries). A second process swaps the
 * directory back and forth as fast as it can while this one reads; not one read may return the outside bytes.
 * Bounded: 400 reads or 8 s, whichever comes first.
 */
let base: string;
let allowed: string;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "squint-race-"));
  allowed = join(base, "allowed");
  mkdirSync(join(allowed, "d"), { recursive: true });
  mkdirSync(join(base, "outside", "d"), { recursive: true });
  writeFileSync(join(allowed, "d", "img.png"), "INSIDE");
  writeFileSync(join(base, "outside", "d", "img.png"), "SECRET");
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

const racer = `
const fs = require("node:fs");
const [allowed, outside] = process.argv.slice(1);
const dir = allowed + "/d", parked = allowed + "/d.parked";
const stopAt = Date.now() + 10000;
const hold = () => { const until = process.hrtime.bigint() + 200000n; while (process.hrtime.bigint() < until); };
process.stdin.on("data", () => process.exit(0));
process.stdout.write("ready");
(function loop() {
  for (let i = 0; i < 50; i++) {
    // Each state is held a moment (a busy wait of ~0.2 ms), so a check and an open can land in different ones.
    try {
      fs.renameSync(dir, parked); fs.symlinkSync(outside + "/d", dir); hold();
      fs.unlinkSync(dir); fs.renameSync(parked, dir); hold();
    } catch {}
  }
  if (Date.now() < stopAt) setImmediate(loop); else process.exit(0);
})();
`;

describe("the path check against a directory swapped for a symlink", () => {
  it("never reads the file outside --allow", { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, ["-e", racer, allowed, join(base, "outside")], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    await new Promise((resolve) => child.stdout.once("data", resolve));
    const outcomes = { inside: 0, leaked: 0, refused: 0, other: 0 };
    const others = new Set<string>();
    const stopAt = Date.now() + 8000;
    try {
      for (let i = 0; i < 400 && Date.now() < stopAt; i++) {
        try {
          const file = await readImageFile(join(allowed, "d", "img.png"), { allowedDirs: [allowed], maxBytes: 1000 });
          const text = Buffer.from(file.bytes).toString();
          if (text === "SECRET") outcomes.leaked++;
          else outcomes.inside++;
        } catch (error) {
          if (isSquintError(error) && ["PATH_NOT_ALLOWED", "NOT_FOUND"].includes(error.code)) outcomes.refused++;
          else {
            outcomes.other++;
            others.add(String(error));
          }
        }
      }
    } finally {
      child.stdin.end("stop");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    // The swap really happened during the reads (otherwise the test proves nothing).
    expect(outcomes.refused + outcomes.leaked, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(outcomes.leaked, JSON.stringify(outcomes)).toBe(0);
    expect(outcomes.other, [...others].join("; ")).toBe(0);
  });

  it("gives a dangling link to a forbidden place the same error as a link to an existing forbidden file", async () => {
    writeFileSync(join(base, "outside", "exists.png"), "x");
    symlinkSync(join(base, "outside", "exists.png"), join(allowed, "to-existing.png"));
    symlinkSync(join(base, "outside", "missing.png"), join(allowed, "to-missing.png"));
    symlinkSync(join(base, "outside", "no-dir", "x.png"), join(allowed, "to-missing-dir.png"));
    const errors: string[] = [];
    for (const name of ["to-existing.png", "to-missing.png", "to-missing-dir.png"]) {
      try {
        await readImageFile(join(allowed, name), { allowedDirs: [allowed], maxBytes: 1000 });
        errors.push("read");
      } catch (error) {
        errors.push(isSquintError(error) ? `${error.code}: ${error.message.replace(name, "<name>")}` : String(error));
      }
    }
    expect(errors[0]).toMatch(/^PATH_NOT_ALLOWED/);
    expect(errors[1]).toBe(errors[0]);
    expect(errors[2]).toBe(errors[0]);
    // A link inside the roots that dangles is still just "not found".
    symlinkSync(join(allowed, "gone.png"), join(allowed, "to-gone.png"));
    await expect(
      readImageFile(join(allowed, "to-gone.png"), { allowedDirs: [allowed], maxBytes: 1000 }),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("does not echo a 4 MiB path back", async () => {
    const long = join(base, "outside", "a".repeat(4 * 1024 * 1024));
    const error = await readImageFile(long, { allowedDirs: [allowed], maxBytes: 1000 }).catch(
      (caught: unknown) => caught,
    );
    expect(isSquintError(error) && error.code).toBe("PATH_NOT_ALLOWED");
    expect(JSON.stringify(error).length + (error as Error).message.length).toBeLessThan(4096);
  });
});
