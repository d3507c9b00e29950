import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import sharp from "sharp";

/**
 * The awkward inputs of the bad-input table, written into `dir` (and a sibling `outside` directory):
 * broken files that must be refused with a clear error, and odd-but-valid ones that must decode correctly.
 */
function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A well-formed PNG header claiming width×height, with a token IDAT: a decompression bomb's calling card. */
export function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, adaptive filtering, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

export interface BadImages {
  good: string;
  empty: string;
  truncatedJpeg: string;
  textAsPng: string;
  hugeHeader: string;
  svg: string;
  animatedGif: string;
  cmykJpeg: string;
  png16: string;
  exifRotated: string;
  outside: string;
  escapingLink: string;
}

export async function writeBadImages(dir: string): Promise<BadImages> {
  const outsideDir = join(dir, "..", "outside");
  mkdirSync(outsideDir, { recursive: true });
  const path = (name: string) => join(dir, name);
  const solid = (width: number, height: number, background: string) =>
    sharp({ create: { width, height, channels: 3, background } });

  await solid(64, 48, "#808080").png().toFile(path("good.png"));
  writeFileSync(path("empty.png"), Buffer.alloc(0));
  const jpeg = await sharp(Buffer.alloc(200 * 150 * 3, 90), { raw: { width: 200, height: 150, channels: 3 } })
    .jpeg()
    .toBuffer();
  writeFileSync(path("truncated.jpg"), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  writeFileSync(path("text.png"), "This is not a PNG, just text with a .png name.\n");
  writeFileSync(path("huge-header.png"), pngClaiming(30000, 30000));
  writeFileSync(
    path("image.svg"),
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
  );
  const red = await solid(8, 6, "#ff0000").png().toBuffer();
  const blue = await solid(8, 6, "#0000ff").png().toBuffer();
  await sharp([red, blue], { join: { animated: true } })
    .gif({ delay: [100, 100], loop: 0 })
    .toFile(path("animated.gif"));
  await solid(30, 20, "#ff0000").toColourspace("cmyk").jpeg().toFile(path("cmyk.jpg"));
  await solid(30, 20, "#00ff00").toColourspace("rgb16").png().toFile(path("deep.png"));
  // Stored 40×20, left half red and right half blue, with EXIF orientation 6 ("rotate 90° clockwise to view"):
  // upright it is 20×40 with red on top.
  const halves = Buffer.alloc(40 * 20 * 3);
  for (let y = 0; y < 20; y++) {
    for (let x = 0; x < 40; x++) halves.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
  }
  await sharp(halves, { raw: { width: 40, height: 20, channels: 3 } })
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toFile(path("exif6.jpg"));
  await solid(10, 10, "#000000").png().toFile(join(outsideDir, "secret.png"));
  symlinkSync(join(outsideDir, "secret.png"), path("escape.png"));

  return {
    good: path("good.png"),
    empty: path("empty.png"),
    truncatedJpeg: path("truncated.jpg"),
    textAsPng: path("text.png"),
    hugeHeader: path("huge-header.png"),
    svg: path("image.svg"),
    animatedGif: path("animated.gif"),
    cmykJpeg: path("cmyk.jpg"),
    png16: path("deep.png"),
    exifRotated: path("exif6.jpg"),
    outside: join(outsideDir, "secret.png"),
    escapingLink: path("escape.png"),
  };
}
