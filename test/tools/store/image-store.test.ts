import fs from "node:fs";
import zlib from "node:zlib";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { isSquintError } from "../../../src/errors.js";
import { applyToBox, cropTransform, scaling } from "../../../src/tools/geometry.js";
import { ImageStore } from "../../../src/tools/store/image-store.js";
import { encode, gradient, hasSharedData, hopInnPath, noteMissingShared, pixelAt } from "../images.js";

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isSquintError(error) ? error.code : `not a SquintError: ${String(error)}`;
  }
  return undefined;
}

async function messageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return "";
}

noteMissingShared();

function pngChunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  const typed = Buffer.concat([Buffer.from(type, "latin1"), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(typed));
  return Buffer.concat([head, typed, crc]);
}

function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", zlib.deflateSync(Buffer.alloc(0))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("ImageStore.ingest", () => {
  it.skipIf(!hasSharedData)("decodes a real JPEG once and gives the same id to the same bytes", async () => {
    const store = new ImageStore();
    const bytes = fs.readFileSync(hopInnPath);
    const first = await store.ingest(bytes, { source: hopInnPath });
    expect(first).toMatchObject({
      width: 2460,
      height: 1612,
      format: "JPEG",
      operation: "original",
      source: hopInnPath,
    });
    expect(first.originalId).toBe(first.id);
    expect(store.pixels(first.id).data.byteLength).toBe(2460 * 1612 * 3);
    const again = await store.ingest(bytes);
    expect(again.id).toBe(first.id);
    expect(store.stats()).toMatchObject({ images: 1, withPixels: 1, pinned: 1 });
  });

  it("decodes concurrent ingests of the same bytes once", async () => {
    const store = new ImageStore();
    const bytes = await encode(gradient(120, 80));
    const [a, b] = await Promise.all([store.ingest(bytes), store.ingest(bytes)]);
    expect(a.id).toBe(b.id);
    expect(store.stats()).toMatchObject({ images: 1, pinned: 1 });
    // Two pins: one release leaves it pinned.
    store.release(a.id);
    expect(store.stats().pinned).toBe(1);
    store.release(a.id);
    expect(store.stats().pinned).toBe(0);
  });

  it("keeps pixels exactly for a lossless input", async () => {
    const store = new ImageStore();
    const image = gradient(300, 200);
    const stored = await store.ingest(await encode(image));
    expect(store.pixels(stored.id).data).toEqual(image.data);
  });

  it("refuses more input bytes than the limit before decoding", async () => {
    const store = new ImageStore({ maxInputBytes: 1000 });
    const bytes = await encode(gradient(300, 200));
    expect(await codeOf(store.ingest(bytes))).toBe("IMAGE_TOO_LARGE");
  });

  it("refuses a decompression bomb from its header (pixel count), without decoding", async () => {
    // A PNG whose header claims 100000×100000 (30 GB as RGB) and carries no pixel data (an empty IDAT): only the
    // header can have refused it.
    const bomb = pngHeaderOnly(100_000, 100_000);
    const store = new ImageStore({ maxDimension: 200_000 });
    expect(await messageOf(store.ingest(bomb))).toMatch(/10000000000 pixels/);
    expect(store.stats().images).toBe(0);
    // The same check guards a real (tiny) PNG under a tight limit.
    expect(await codeOf(new ImageStore({ maxPixels: 100 }).ingest(await encode(gradient(20, 20))))).toBe(
      "IMAGE_TOO_LARGE",
    );
  });

  it("refuses a side longer than maxDimension", async () => {
    const store = new ImageStore({ maxDimension: 500 });
    const wide = await encode(gradient(600, 10));
    expect(await messageOf(store.ingest(wide))).toMatch(/600×10.*500/);
  });

  it("refuses SVG unless enabled", async () => {
    const svg = Buffer.from(
      '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="#0000ff"/></svg>',
    );
    expect(await codeOf(new ImageStore().ingest(svg))).toBe("IMAGE_UNSUPPORTED");
    const allowed = await new ImageStore({ allowSvg: true }).ingest(svg);
    expect(allowed).toMatchObject({ width: 40, height: 30, format: "SVG" });
  });

  it("refuses empty, truncated and non-image input with clear errors", async () => {
    const store = new ImageStore();
    expect(await messageOf(store.ingest(new Uint8Array(0)))).toMatch(/empty/);
    const jpeg = await encode(gradient(64, 64), "jpeg");
    const png = await encode(gradient(64, 64), "png");
    expect(await codeOf(store.ingest(jpeg.subarray(0, jpeg.length >> 1)))).toBe("IMAGE_DECODE_FAILED");
    expect(await messageOf(store.ingest(jpeg.subarray(0, jpeg.length >> 1)))).toMatch(/truncated/);
    expect(await messageOf(store.ingest(png.subarray(0, png.length - 20)))).toMatch(/truncated/);
    expect(await codeOf(store.ingest(Buffer.from("hello, I am not an image at all")))).toBe("IMAGE_UNSUPPORTED");
    expect(await codeOf(store.ingest(Buffer.from("%PDF-1.7\n...")))).toBe("IMAGE_UNSUPPORTED");
    // A PNG signature with a broken header chunk.
    expect(
      await codeOf(store.ingest(Buffer.concat([png.subarray(0, 8), Buffer.alloc(40, 7), png.subarray(-12)]))),
    ).toBe("IMAGE_DECODE_FAILED");
    expect(store.stats().images).toBe(0);
  });

  it("takes the first frame of an animated GIF", async () => {
    const red = await sharp({ create: { width: 20, height: 10, channels: 3, background: "#ff0000" } })
      .png()
      .toBuffer();
    const blue = await sharp({ create: { width: 20, height: 10, channels: 3, background: "#0000ff" } })
      .png()
      .toBuffer();
    const gif = await sharp([red, blue], { join: { animated: true } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const store = new ImageStore();
    const stored = await store.ingest(gif);
    expect(stored).toMatchObject({ width: 20, height: 10, format: "GIF" });
    const [r, g, b] = pixelAt(store.pixels(stored.id), 10, 5);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(40);
    expect(b).toBeLessThan(40);
  });

  it("converts CMYK to RGB", async () => {
    const cmyk = await sharp({ create: { width: 40, height: 20, channels: 3, background: "#20a040" } })
      .toColourspace("cmyk")
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe("cmyk");
    const store = new ImageStore();
    const stored = await store.ingest(cmyk);
    const [r, g, b] = pixelAt(store.pixels(stored.id), 20, 10);
    // Round trip through CMYK is not exact; the colour must still be that green.
    expect(Math.abs(r - 0x20)).toBeLessThan(30);
    expect(Math.abs(g - 0xa0)).toBeLessThan(30);
    expect(Math.abs(b - 0x40)).toBeLessThan(30);
  });

  it("converts 16-bit PNG to 8-bit", async () => {
    const png16 = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#804020" } })
      .toColourspace("rgb16")
      .png()
      .toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe("ushort");
    const store = new ImageStore();
    const stored = await store.ingest(png16);
    expect(pixelAt(store.pixels(stored.id), 3, 3)).toEqual([0x80, 0x40, 0x20]);
  });

  it("applies EXIF orientation so the image is upright", async () => {
    // Stored 40×20: left half red, right half blue; orientation 6 = shown rotated 90° clockwise.
    const raw = new Uint8Array(40 * 20 * 3);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 40; x++) raw.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
    }
    const jpeg = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const store = new ImageStore();
    const stored = await store.ingest(jpeg);
    expect(stored).toMatchObject({ width: 20, height: 40, exifOrientation: 6 });
    // Turned clockwise, the stored left (red) half is on top.
    expect(pixelAt(store.pixels(stored.id), 10, 5)[0]).toBeGreaterThan(200);
    expect(pixelAt(store.pixels(stored.id), 10, 35)[2]).toBeGreaterThan(200);
  });
});

describe("ImageStore lineage and memory", () => {
  it("composes transforms so a box on a derived image maps to the original", async () => {
    const store = new ImageStore();
    const original = await store.ingest(await encode(gradient(400, 300)));
    const crop = store.derive(original.id, gradient(100, 50), {
      operation: "crop",
      toParent: cropTransform({ left: 100, top: 200, width: 100, height: 50 }, { width: 100, height: 50 }),
    });
    const zoom = store.derive(crop.id, gradient(200, 100), { operation: "zoom", toParent: scaling(0.5, 0.5) });
    expect(zoom.originalId).toBe(original.id);
    expect(store.lineage(zoom.id).map((i) => i.id)).toEqual([zoom.id, crop.id, original.id]);
    expect(applyToBox(zoom.toOriginal, { x1: 0, y1: 0, x2: 200, y2: 100 })).toEqual({
      x1: 100,
      y1: 200,
      x2: 200,
      y2: 250,
    });
  });

  it("evicts least recently used derived pixels, keeps pinned originals, keeps records", async () => {
    const image = gradient(100, 100); // 30 000 bytes
    const store = new ImageStore({ maxStoreBytes: 100_000 });
    const original = await store.ingest(await encode(image));
    const a = store.derive(original.id, image, { operation: "crop", toParent: scaling(1, 1) });
    const b = store.derive(original.id, image, { operation: "crop", toParent: scaling(1, 1) });
    store.pixels(a.id); // a is now more recent than b
    const c = store.derive(original.id, image, { operation: "crop", toParent: scaling(1, 1) });
    expect(store.stats()).toMatchObject({ withPixels: 3, bytes: 90_000 });
    expect(await codeOf(Promise.resolve().then(() => store.pixels(b.id)))).toBe("NOT_FOUND");
    expect(store.pixels(a.id).width).toBe(100);
    expect(store.pixels(c.id).width).toBe(100);
    expect(store.pixels(original.id).width).toBe(100);
    // The evicted crop's record still maps to the original.
    expect(store.get(b.id).originalId).toBe(original.id);
  });

  it("releases an original to eviction and refuses new images when everything is pinned", async () => {
    const store = new ImageStore({ maxStoreBytes: 70_000 });
    const one = await store.ingest(await encode(gradient(100, 100)));
    const two = await store.ingest(await encode(gradient(100, 99)));
    expect(await codeOf(store.ingest(await encode(gradient(100, 98))))).toBe("OUT_OF_MEMORY_BUDGET");
    store.release(one.id);
    const three = await store.ingest(await encode(gradient(100, 98)));
    expect(store.stats().withPixels).toBe(2);
    expect(await codeOf(Promise.resolve().then(() => store.pixels(one.id)))).toBe("NOT_FOUND");
    expect(store.pixels(two.id).height).toBe(99);
    expect(store.pixels(three.id).height).toBe(98);
    // Sending the evicted original again decodes it again under the same id.
    store.release(three.id);
    const back = await store.ingest(await encode(gradient(100, 100)));
    expect(back.id).toBe(one.id);
  });

  it("says NOT_FOUND for unknown ids", () => {
    const store = new ImageStore();
    try {
      store.get("img-404");
      expect.unreachable();
    } catch (error) {
      expect(isSquintError(error) && error.code).toBe("NOT_FOUND");
    }
  });

  it("encodes stored pixels losslessly as PNG", async () => {
    const store = new ImageStore();
    const stored = await store.ingest(await encode(gradient(64, 32)));
    const png = await store.encode(stored.id, "png");
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(new Uint8Array(data)).toEqual(store.pixels(stored.id).data);
  });
});
