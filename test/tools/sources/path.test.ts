import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SquintError } from "../../../src/errors.js";
import { readImageFile } from "../../../src/tools/sources/path.js";

let base: string;
let allowed: string;
let outside: string;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "squint-path-"));
  allowed = join(base, "allowed");
  outside = join(base, "outside");
  mkdirSync(join(allowed, "sub"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(allowed, "sub", "a.png"), Buffer.from([1, 2, 3]));
  writeFileSync(join(allowed, "empty.png"), Buffer.alloc(0));
  writeFileSync(join(allowed, "big.png"), Buffer.alloc(100));
  writeFileSync(join(outside, "secret.png"), Buffer.from([9]));
  symlinkSync(join(outside, "secret.png"), join(allowed, "escape.png"));
  symlinkSync(outside, join(allowed, "escape-dir"));
  symlinkSync(join(allowed, "sub", "a.png"), join(allowed, "inner-link.png"));
  // A directory named like the allowed one plus a suffix must not count as inside it.
  mkdirSync(`${allowed}-twin`);
  writeFileSync(join(`${allowed}-twin`, "t.png"), Buffer.from([5]));
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "no error";
  } catch (error) {
    if (error instanceof SquintError) {
      expect(error.hint).toBeTruthy();
      return error.code;
    }
    throw error;
  }
}

describe("readImageFile", () => {
  const options = () => ({ allowedDirs: [allowed], maxBytes: 50 });

  it("reads a file under an allowed directory and reports its real path", async () => {
    const file = await readImageFile(join(allowed, "sub", "a.png"), options());
    expect([...file.bytes]).toEqual([1, 2, 3]);
    expect(file.path).toBe(join(allowed, "sub", "a.png"));
  });

  it("follows a symlink that stays inside", async () => {
    const file = await readImageFile(join(allowed, "inner-link.png"), options());
    expect(file.path).toBe(join(allowed, "sub", "a.png"));
  });

  it("resolves relative paths against baseDir", async () => {
    const file = await readImageFile("sub/a.png", { ...options(), baseDir: allowed });
    expect(file.bytes.length).toBe(3);
  });

  it.each([
    ["a file outside the roots", () => join(outside, "secret.png"), "PATH_NOT_ALLOWED"],
    ["a symlink escaping the roots", () => join(allowed, "escape.png"), "PATH_NOT_ALLOWED"],
    ["a file under a symlinked directory outside", () => join(allowed, "escape-dir", "secret.png"), "PATH_NOT_ALLOWED"],
    ["a dot-dot path", () => join(allowed, "..", "outside", "secret.png"), "PATH_NOT_ALLOWED"],
    ["a sibling sharing the root's prefix", () => join(`${allowed}-twin`, "t.png"), "PATH_NOT_ALLOWED"],
    ["a missing file outside the roots (no existence leak)", () => join(outside, "nope.png"), "PATH_NOT_ALLOWED"],
    ["a missing file inside", () => join(allowed, "nope.png"), "NOT_FOUND"],
    ["a directory", () => join(allowed, "sub"), "INVALID_ARGUMENT"],
    ["an empty file", () => join(allowed, "empty.png"), "IMAGE_DECODE_FAILED"],
    ["a file over the byte limit", () => join(allowed, "big.png"), "IMAGE_TOO_LARGE"],
  ])("refuses %s", async (_name, path, code) => {
    expect(await codeOf(readImageFile(path(), options()))).toBe(code);
  });

  it("refuses every path when no directory is allowed", async () => {
    expect(await codeOf(readImageFile(join(allowed, "sub", "a.png"), { allowedDirs: [], maxBytes: 50 }))).toBe(
      "PATH_NOT_ALLOWED",
    );
  });
});
