import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { SquintError } from "../../src/errors.js";
import { decodeImage, readImageSize, shrinkRaw } from "../../src/model/image-decode.js";
import { type RawImage, resizeBicubicSync } from "../../src/model/vision.js";
import { photoLike as photoLikeImage } from "../tools/images.js";

function pixel(image: RawImage, x: number, y: number): [number, number, number] {
  const i = (y * image.width + x) * 3;
  return [image.data[i], image.data[i + 1], image.data[i + 2]];
}

/** A real 16-bit-per-channel RGB PNG, written by hand so the samples are not multiples of 257. */
function png16(width: number, height: number, samples: number[]): Buffer {
  const chunk = (type: string, body: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    const typed = Buffer.concat([Buffer.from(type, "latin1"), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([length, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 16; // bit depth
  header[9] = 2; // truecolour
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 6);
    for (let i = 0; i < width * 3; i++) row.writeUInt16BE(samples[y * width * 3 + i], 1 + i * 2);
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const scratch = mkdtempSync(join(tmpdir(), "squint-decode-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("decodeImage", () => {
  it("applies EXIF orientation so a rotated JPEG comes out upright", async () => {
    // Stored 40×20: left half red, right half blue. Orientation 6 = rotate 90° clockwise to display,
    // so the upright image is 20×40 with red on top and blue at the bottom.
    const stored = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 40; x++) stored.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
    }
    const jpeg = await sharp(stored, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const image = await decodeImage(jpeg);
    expect([image.width, image.height]).toEqual([20, 40]);
    const top = pixel(image, 10, 5);
    const bottom = pixel(image, 10, 34);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeLessThan(60);
  });

  it("composites transparency over white", async () => {
    const rgba = Buffer.from([
      0,
      0,
      0,
      0, // fully transparent black -> white
      255,
      0,
      0,
      255, // opaque red stays red
      0,
      0,
      255,
      128, // half-transparent blue -> light blue
      10,
      20,
      30,
      255,
    ]);
    const png = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } })
      .png()
      .toBuffer();
    const image = await decodeImage(png);
    expect(image.data.length).toBe(2 * 2 * 3);
    expect(pixel(image, 0, 0)).toEqual([255, 255, 255]);
    expect(pixel(image, 1, 0)).toEqual([255, 0, 0]);
    const [r, g, b] = pixel(image, 0, 1);
    expect(b).toBe(255);
    expect(Math.abs(r - 127)).toBeLessThanOrEqual(1);
    expect(Math.abs(g - 127)).toBeLessThanOrEqual(1);
    expect(pixel(image, 1, 1)).toEqual([10, 20, 30]);
  });

  it("converts a 16-bit PNG to 8-bit", async () => {
    const samples = [65535, 0, 32896, 1000, 20000, 51400, 0, 65535, 12345, 257 * 77, 257 * 200, 40000];
    const png = png16(2, 2, samples);
    const meta = await sharp(png).metadata();
    expect(meta.depth).toBe("ushort");
    const image = await decodeImage(png);
    expect([image.width, image.height]).toEqual([2, 2]);
    expect(image.data.length).toBe(12);
    for (let i = 0; i < samples.length; i++) {
      expect(Math.abs(image.data[i] - samples[i] / 257)).toBeLessThanOrEqual(1);
    }
  });

  it("converts a CMYK JPEG to sRGB", async () => {
    const cmyk = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 220, g: 20, b: 20 } } })
      .toColourspace("cmyk")
      .jpeg({ quality: 100 })
      .toBuffer();
    const meta = await sharp(cmyk).metadata();
    expect(meta.space).toBe("cmyk");
    expect(meta.channels).toBe(4);
    const image = await decodeImage(cmyk);
    expect(image.data.length).toBe(8 * 8 * 3);
    const [r, g, b] = pixel(image, 4, 4);
    // The CMYK round trip goes through ICC profiles, so the shade moves; the colour must stay red.
    expect(r).toBeGreaterThan(180);
    expect(g).toBeLessThan(70);
    expect(b).toBeLessThan(70);
  });

  it("takes the first frame of an animated image", async () => {
    const red = await sharp({ create: { width: 8, height: 6, channels: 3, background: "#ff0000" } })
      .png()
      .toBuffer();
    const blue = await sharp({ create: { width: 8, height: 6, channels: 3, background: "#0000ff" } })
      .png()
      .toBuffer();
    const gif = await sharp([red, blue], { join: { animated: true } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const image = await decodeImage(gif);
    expect([image.width, image.height]).toEqual([8, 6]);
    expect(pixel(image, 3, 3)).toEqual([255, 0, 0]);
  });

  it("expands greyscale to three channels and reads file paths", async () => {
    const grey = await sharp(Buffer.from([0, 128, 255, 64]), { raw: { width: 2, height: 2, channels: 1 } })
      .png()
      .toBuffer();
    const path = join(scratch, "grey.png");
    writeFileSync(path, grey);
    const image = await decodeImage(path);
    expect(Array.from(image.data)).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255, 64, 64, 64]);
  });

  it("refuses images over the pixel limit with IMAGE_TOO_LARGE", async () => {
    const png = await sharp({ create: { width: 100, height: 100, channels: 3, background: "#808080" } })
      .png()
      .toBuffer();
    await expect(decodeImage(png, { maxInputPixels: 9999 })).rejects.toMatchObject({ code: "IMAGE_TOO_LARGE" });
    await expect(decodeImage(png, { maxInputPixels: 10000 })).resolves.toMatchObject({ width: 100, height: 100 });
  });

  it("maps undecodable input to IMAGE_DECODE_FAILED and a missing file to NOT_FOUND, with hints", async () => {
    const garbage = decodeImage(new Uint8Array([1, 2, 3, 4, 5]));
    await expect(garbage).rejects.toBeInstanceOf(SquintError);
    await expect(garbage).rejects.toMatchObject({ code: "IMAGE_DECODE_FAILED", hint: expect.any(String) });
    const truncated = (
      await sharp({ create: { width: 64, height: 64, channels: 3, background: "#123456" } })
        .png()
        .toBuffer()
    ).subarray(0, 40);
    await expect(decodeImage(truncated)).rejects.toMatchObject({ code: "IMAGE_DECODE_FAILED" });
    await expect(decodeImage(join(scratch, "absent.png"))).rejects.toMatchObject({
      code: "NOT_FOUND",
      hint: expect.any(String),
    });
    await expect(decodeImage(new Uint8Array(4), { maxInputPixels: 0 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});

/** The shared photo-like image (seed 11) as raw RGB bytes for sharp. */
function photoLike(width: number, height: number): Buffer {
  const { data } = photoLikeImage(width, height, 11);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function meanAbsDelta(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length / 255;
}

describe("readImageSize", () => {
  it("reads the upright size from the header: EXIF orientation 6 swaps the sides", async () => {
    const jpeg = await sharp(photoLike(40, 20), { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect(await readImageSize(jpeg)).toEqual({ width: 20, height: 40 });
    const decoded = await decodeImage(jpeg);
    expect([decoded.width, decoded.height]).toEqual([20, 40]);
  });

  it("gives one frame's height for an animation, as decodeImage does", async () => {
    const frame = (background: string) =>
      sharp({ create: { width: 8, height: 6, channels: 3, background } })
        .png()
        .toBuffer();
    const gif = await sharp([await frame("#ff0000"), await frame("#0000ff")], { join: { animated: true } })
      .gif()
      .toBuffer();
    expect(await readImageSize(gif)).toEqual({ width: 8, height: 6 });
    const decoded = await decodeImage(gif);
    expect([decoded.width, decoded.height]).toEqual([8, 6]);
  });

  it("maps unreadable input to IMAGE_DECODE_FAILED and a missing file to NOT_FOUND", async () => {
    await expect(readImageSize(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: "IMAGE_DECODE_FAILED" });
    await expect(readImageSize(join(scratch, "absent.jpg"))).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("decodeImage with shrinkTo (one libvips pass)", () => {
  const source = photoLike(1600, 1200);
  const raw = { raw: { width: 1600, height: 1200, channels: 3 as const } };

  // JPEG at 1/4 of the size (libjpeg decodes at 1/2 or 1/4 scale), WebP scaled in libwebp, PNG decoded whole.
  for (const [format, encode] of [
    ["JPEG", () => sharp(source, raw).jpeg({ quality: 92 }).toBuffer()],
    ["WebP", () => sharp(source, raw).webp({ quality: 92 }).toBuffer()],
    ["PNG", () => sharp(source, raw).png().toBuffer()],
  ] as const) {
    it(`${format}: gives exactly the asked size within a mean of 0.01 of a whole decode + Pillow's bicubic`, async () => {
      const bytes = await encode();
      const whole = await decodeImage(bytes);
      for (const [width, height] of [
        [384, 288],
        [800, 608],
        [1344, 1024],
      ] as const) {
        const shrunk = await decodeImage(bytes, { shrinkTo: { width, height } });
        expect([shrunk.width, shrunk.height]).toEqual([width, height]);
        const exact = resizeBicubicSync(whole, width, height);
        const delta = meanAbsDelta(shrunk.data, exact.data);
        console.log(`${format} 1600×1200 → ${width}×${height}: mean |Δ| ${delta.toExponential(2)}`);
        expect(delta).toBeLessThan(0.01);
      }
    });
  }

  it("decodes at full scale: the same bytes as a whole decode followed by shrinkRaw, in every format", async () => {
    // Shrink-on-load (libjpeg's 1/2 scale, libwebp's scaler) would differ here: they are what this rules out.
    for (const bytes of [
      await sharp(source, raw).jpeg({ quality: 92 }).toBuffer(),
      await sharp(source, raw).webp({ quality: 92 }).toBuffer(),
      await sharp(source, raw).png().toBuffer(),
    ]) {
      const whole = await decodeImage(bytes);
      for (const [width, height] of [
        [384, 288],
        [700, 500],
      ] as const) {
        const shrunk = await decodeImage(bytes, { shrinkTo: { width, height } });
        expect(Buffer.from(shrunk.data).equals(Buffer.from((await shrinkRaw(whole, width, height)).data))).toBe(true);
      }
    }
  });

  it("keeps rendered text within a mean of 0.01 of Pillow's bicubic when shrunk 2–3×, JPEG and WebP included", async () => {
    // A page of small text: libjpeg's shrink-on-load put it 2–3e-2 off at 3–4×, libwebp's scaler 1.9–2.6e-2.
    const text = "the quick brown fox jumps over a lazy dog while Squint reads every sign 0123456789 ".repeat(40);
    const rendered = await sharp({ text: { text, width: 1240, dpi: 110, wrap: "word" } })
      .negate()
      .flatten()
      .toColourspace("srgb")
      .png()
      .toBuffer();
    for (const bytes of [
      await sharp(rendered).jpeg({ quality: 90 }).toBuffer(),
      await sharp(rendered).webp({ quality: 90 }).toBuffer(),
      rendered,
    ]) {
      const whole = await decodeImage(bytes);
      expect(whole.width).toBeGreaterThan(1000);
      // At 4× libvips' own resize is 9e-3 off here (its box pre-shrink), too near the bound for another font.
      for (const factor of [2, 3]) {
        const [w, h] = [Math.floor(whole.width / factor), Math.floor(whole.height / factor)];
        const shrunk = await decodeImage(bytes, { shrinkTo: { width: w, height: h } });
        const delta = meanAbsDelta(shrunk.data, resizeBicubicSync(whole, w, h).data);
        console.log(`text page ${whole.width}×${whole.height} → ${w}×${h}: mean |Δ| ${delta.toExponential(2)}`);
        expect(delta).toBeLessThan(0.01);
      }
    }
  });

  it("applies EXIF orientation before the size is met: the shrink of an upright-by-EXIF photo is upright", async () => {
    // Stored 80×40, left half red, right half blue; orientation 6 shows it 40×80, red on top.
    const stored = Buffer.alloc(80 * 40 * 3);
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 80; x++) stored.set(x < 40 ? [255, 0, 0] : [0, 0, 255], (y * 80 + x) * 3);
    }
    const jpeg = await sharp(stored, { raw: { width: 80, height: 40, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const shrunk = await decodeImage(jpeg, { shrinkTo: { width: 20, height: 40 } });
    expect([shrunk.width, shrunk.height]).toEqual([20, 40]);
    const at = (x: number, y: number) => Array.from(shrunk.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3));
    expect(at(10, 5)[0]).toBeGreaterThan(200);
    expect(at(10, 35)[2]).toBeGreaterThan(200);
  });

  it("shrinks CMYK and 16-bit images after their colour-managed decode, as a whole decode + shrinkRaw does", async () => {
    const cmyk = await sharp(source, raw).toColourspace("cmyk").jpeg({ quality: 95 }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe("cmyk");
    const deep = await sharp(source, raw).toColourspace("rgb16").png().toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe("ushort");
    for (const bytes of [cmyk, deep]) {
      const shrunk = await decodeImage(bytes, { shrinkTo: { width: 400, height: 300 } });
      const expected = await shrinkRaw(await decodeImage(bytes), 400, 300);
      expect(Buffer.from(shrunk.data).equals(Buffer.from(expected.data))).toBe(true);
    }
  });

  it("composites transparency over white before it shrinks", async () => {
    const png = await sharp({
      create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const shrunk = await decodeImage(png, { shrinkTo: { width: 32, height: 32 } });
    expect(new Set(shrunk.data)).toEqual(new Set([255]));
  });

  it("refuses a shrinkTo larger than the image, or not a positive whole size, with INVALID_ARGUMENT", async () => {
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#808080" } })
      .png()
      .toBuffer();
    await expect(decodeImage(png, { shrinkTo: { width: 128, height: 48 } })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(decodeImage(png, { shrinkTo: { width: 0, height: 48 } })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it("decodes off the event loop: a callback queued after it starts runs before it finishes", async () => {
    const jpeg = await sharp(source, raw).jpeg().toBuffer();
    const order: string[] = [];
    const decoding = decodeImage(jpeg, { shrinkTo: { width: 400, height: 300 } }).then(() => order.push("decode"));
    setImmediate(() => order.push("event loop"));
    await decoding;
    expect(order).toEqual(["event loop", "decode"]);
  });
});
