import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { SquintError } from "../../src/errors.js";
import { decodeImage } from "../../src/model/image-decode.js";
import type { RawImage } from "../../src/model/vision.js";

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
