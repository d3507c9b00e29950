import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToolContext } from "../../../src/tools/context.js";
import { FileHashes } from "../../../src/tools/sources/file-hashes.js";
import { fileIdentity, readImageFileUnlessKnown } from "../../../src/tools/sources/path.js";
import { defaultSourcePolicy } from "../../../src/tools/sources/policy.js";
import { ImageStore } from "../../../src/tools/store/image-store.js";
import { SharedOriginals } from "../../../src/tools/store/shared-originals.js";

/**
 * Issue 10, load bench: every call that named a photo by path read its megabytes and hashed them again, for
 * every one of fifty clients, only to find the same decoded pixels. A file version whose content is decoded
 * now is recognised from its stat (after every path check) and not read; a changed file is read again.
 */
let dir: string;
let photo: string;

async function writePng(path: string, colour: string): Promise<void> {
  writeFileSync(
    path,
    await sharp({ create: { width: 40, height: 30, channels: 3, background: colour } })
      .png()
      .toBuffer(),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "squint-file-hashes-"));
  photo = join(dir, "photo.png");
  await writePng(photo, "#ff0000");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("files read once per version", () => {
  it("skips reading a file the caller already has, after the path checks", async () => {
    const options = { allowedDirs: [dir], maxBytes: 1 << 20 };
    const read = await readImageFileUnlessKnown(photo, options, () => false);
    expect("bytes" in read && read.bytes.byteLength > 0).toBe(true);
    expect(read.identity).toBe(fileIdentity(statSync(photo)));
    const skipped = await readImageFileUnlessKnown(photo, options, (identity) => identity === read.identity);
    expect(skipped).toEqual({ path: read.path, identity: read.identity, known: true });
    // The checks still run: a path outside the allowed directories is refused even when "known".
    await expect(readImageFileUnlessKnown("/etc/hostname", options, () => true)).rejects.toMatchObject({
      code: "PATH_NOT_ALLOWED",
    });
  });

  it("shares one decode between stores by path, and reads a rewritten file again", async () => {
    const originals = new SharedOriginals(64 * 1024 * 1024);
    const fileHashes = new FileHashes();
    const policy = defaultSourcePolicy({ allowedDirs: [dir] });
    const a = new ImageStore({ originals, ids: "random" });
    const b = new ImageStore({ originals, ids: "random" });
    const first = await createToolContext({ store: a, policy, fileHashes }).resolveImage(photo);
    const second = await createToolContext({ store: b, policy, fileHashes }).resolveImage(photo);
    expect(fileHashes.size).toBe(1);
    expect(b.pixels(second.id).data).toBe(a.pixels(first.id).data);
    expect(second.source).toBe(first.source);
    // A new version of the file is a new identity: read, hashed and decoded afresh, never the stale pixels.
    await writePng(photo, "#0000ff");
    const rewritten = await createToolContext({ store: b, policy, fileHashes }).resolveImage(photo);
    expect(rewritten.id).not.toBe(second.id);
    expect(Array.from(b.pixels(rewritten.id).data.subarray(0, 3))).toEqual([0, 0, 255]);
    expect(fileHashes.size).toBe(2);
  });

  it("forgets the least recently used versions beyond its bound", () => {
    const hashes = new FileHashes(2);
    hashes.set("a", "1");
    hashes.set("b", "2");
    hashes.get("a");
    hashes.set("c", "3");
    expect([hashes.get("a"), hashes.get("b"), hashes.get("c")]).toEqual(["1", undefined, "3"]);
  });
});
