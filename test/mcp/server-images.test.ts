import { randomBytes } from "node:crypto";
import sharp, { type Sharp } from "sharp";
import { describe, expect, it } from "vitest";
import { SquintError } from "../../src/errors.js";
import {
  DEFAULT_INLINE_LIMITS,
  encodeFull,
  encodeInline,
  estimatePngBytes,
  inlineSize,
  PNG_COMPRESSION_LEVEL,
} from "../../src/mcp/server-images.js";
import type { RawImage } from "../../src/model/vision.js";

const flat = (width: number, height: number): RawImage => ({
  width,
  height,
  data: new Uint8Array(width * height * 3).fill(200),
});
const noisy = (width: number, height: number): RawImage => ({
  width,
  height,
  data: new Uint8Array(randomBytes(width * height * 3)),
});

describe("inlineSize", () => {
  it.each([
    [800, 600, 800, 600], // small enough already: never enlarged
    [4000, 500, 1568, 196], // long edge bound
    [3000, 2000, 1313, 875], // pixel bound (1.15 MP)
    [1568, 700, 1568, 700],
  ])("%i×%i -> %i×%i", (width, height, w, h) => {
    const size = inlineSize(width, height);
    expect(size).toEqual({ width: w, height: h });
    expect(Math.max(size.width, size.height)).toBeLessThanOrEqual(DEFAULT_INLINE_LIMITS.maxEdge);
    expect(size.width * size.height).toBeLessThanOrEqual(DEFAULT_INLINE_LIMITS.maxPixels);
  });
});

describe("encodeInline", () => {
  it("keeps a flat (UI-like) image lossless", async () => {
    const encoded = await encodeInline(flat(1000, 700));
    expect(encoded.mimeType).toBe("image/png");
    expect([encoded.width, encoded.height]).toEqual([1000, 700]);
  });

  it("encodes PNG at the fast zlib level, losslessly", async () => {
    const image: RawImage = { width: 320, height: 200, data: new Uint8Array(320 * 200 * 3) };
    for (let i = 0; i < image.data.length; i++) image.data[i] = (i % 960) / 4 + ((i * 7) % 5);
    const encoded = await encodeInline(image);
    const at = (level: number) =>
      sharp(image.data, { raw: { width: 320, height: 200, channels: 3 } })
        .png({ compressionLevel: level })
        .toBuffer();
    expect(PNG_COMPRESSION_LEVEL).toBe(1);
    expect(encoded.data.equals(await at(PNG_COMPRESSION_LEVEL))).toBe(true);
    expect(encoded.data.equals(await at(6))).toBe(false);
    const back = await sharp(encoded.data).raw().toBuffer();
    expect(back.equals(Buffer.from(image.data))).toBe(true);
  });

  it("estimates a PNG's size from bands of its rows, and skips a PNG that cannot fit", async () => {
    // Blocky noise enlarged, as a zoom of a photo looks: PNG stays large, JPEG small.
    const cells = noisy(80, 52);
    const enlarged = await sharp(cells.data, { raw: { width: 80, height: 52, channels: 3 } })
      .resize(640, 416, { kernel: "cubic" })
      .raw()
      .toBuffer();
    const smooth: RawImage = { width: 640, height: 416, data: new Uint8Array(enlarged) };
    const whole = await sharp(smooth.data, { raw: { width: 640, height: 416, channels: 3 } })
      .png({ compressionLevel: PNG_COMPRESSION_LEVEL })
      .toBuffer();
    const estimate = await estimatePngBytes(smooth);
    expect(estimate / whole.length).toBeGreaterThan(0.9);
    expect(estimate / whole.length).toBeLessThan(1.1);
    // Too small to sample: always tried.
    expect(await estimatePngBytes(noisy(100, 60))).toBe(0);
    // With the limit at two thirds of that, PNG is not even tried (JPEG straight away).
    const limits = { ...DEFAULT_INLINE_LIMITS, maxBytes: Math.floor(whole.length / 1.5) };
    const png = sharp.prototype.png;
    let pngCalls = 0;
    sharp.prototype.png = function (this: Sharp, ...args: Parameters<Sharp["png"]>) {
      pngCalls++;
      return png.apply(this, args);
    };
    try {
      const encoded = await encodeInline(smooth, limits);
      expect(encoded.mimeType).toBe("image/jpeg");
      expect([encoded.width, encoded.height]).toEqual([640, 416]);
    } finally {
      sharp.prototype.png = png;
    }
    // Only the estimate's encode of the sampled bands.
    expect(pngCalls).toBe(1);
  });

  it("falls back to JPEG, then shrinks, to stay under the byte budget", async () => {
    const limits = { ...DEFAULT_INLINE_LIMITS, maxBytes: 20 * 1024 };
    const encoded = await encodeInline(noisy(400, 300), limits);
    expect(encoded.mimeType).toBe("image/jpeg");
    expect(encoded.data.length).toBeLessThanOrEqual(limits.maxBytes);
    expect(encoded.width).toBeLessThan(400);
    const meta = await sharp(encoded.data).metadata();
    expect([meta.width, meta.height]).toEqual([encoded.width, encoded.height]);
    expect(encoded.width / encoded.height).toBeCloseTo(4 / 3, 1);
  });
});

describe("encodeFull", () => {
  it("returns PNG at full size when it fits", async () => {
    const encoded = await encodeFull(flat(300, 200), 1024 * 1024);
    expect(encoded.mimeType).toBe("image/png");
    expect((await sharp(encoded.data).metadata()).width).toBe(300);
  });

  it("returns JPEG at full size when PNG does not fit", async () => {
    const image = noisy(300, 200);
    const png = await sharp(image.data, { raw: { width: 300, height: 200, channels: 3 } })
      .png()
      .toBuffer();
    const encoded = await encodeFull(image, png.length - 1);
    expect(encoded.mimeType).toBe("image/jpeg");
    expect((await sharp(encoded.data).metadata()).width).toBe(300);
  });

  it("refuses, with a hint, an image that no encoding fits into one message", async () => {
    const error = await encodeFull(noisy(300, 200), 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SquintError);
    expect((error as SquintError).code).toBe("IMAGE_TOO_LARGE");
    expect((error as SquintError).hint).toMatch(/Crop or zoom/);
  });
});
