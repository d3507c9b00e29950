import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { RawImage } from "../../src/model/vision.js";
import { sharedRoot } from "../support/cli.js";

/** Small images made on the fly for the image-tool tests, and the shared photos when they are present. */

export const sharedData = path.join(sharedRoot, "data");
export const hasSharedData = fs.existsSync(path.join(sharedData, "MANIFEST.json"));
export const hopInnPath = path.join(sharedData, "detail/qwen-agent-hop-inn-pub.jpg");

/** Logs why a test that needs ../shared is skipped (vitest's skipIf prints no reason). */
export function noteMissingShared(): void {
  if (!hasSharedData) console.warn(`skipping tests that need shared photos: ${sharedData} is absent`);
}

/** Every pixel different: r = x mod 256, g = y mod 256, b = (x + y) mod 256 — so any pixel says where it came from. */
export function gradient(width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = x % 256;
      data[i + 1] = y % 256;
      data[i + 2] = (x + y) % 256;
    }
  }
  return { width, height, data };
}

/**
 * A deterministic photo-like image: smooth gradients, edges and grain (a seeded LCG), what the fast shrink and
 * shrink-on-load are meant for.
 */
export function photoLike(width: number, height: number, seed = 7): RawImage {
  const data = new Uint8Array(width * height * 3);
  let state = seed;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      state = (state * 1103515245 + 12345) >>> 0;
      const grain = (state >>> 24) / 16;
      const edge = (x * 7 + y * 3) % 211 < 90 ? 60 : 0;
      const i = (y * width + x) * 3;
      data[i] = Math.min(255, (x / width) * 180 + edge + grain);
      data[i + 1] = Math.min(255, (y / height) * 200 + grain);
      data[i + 2] = Math.min(255, 128 + 100 * Math.sin(x / 37) * Math.cos(y / 23) + grain);
    }
  }
  return { width, height, data };
}

/** Black image with a white square of `side` px whose top-left is (x, y). */
export function marker(width: number, height: number, x: number, y: number, side: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let j = y; j < y + side; j++) {
    for (let i = x; i < x + side; i++) data.fill(255, (j * width + i) * 3, (j * width + i) * 3 + 3);
  }
  return { width, height, data };
}

/** Intensity-weighted centroid of the red channel, in continuous pixel coordinates (pixel centres at +0.5). */
export function brightCentroid(image: RawImage, threshold = 32): { x: number; y: number } {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const v = image.data[(y * image.width + x) * 3]!;
      if (v >= threshold) {
        sx += (x + 0.5) * v;
        sy += (y + 0.5) * v;
        n += v;
      }
    }
  }
  return { x: sx / n, y: sy / n };
}

export function encode(image: RawImage, format: "png" | "jpeg" = "png"): Promise<Buffer> {
  const pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  return format === "png" ? pipeline.png().toBuffer() : pipeline.jpeg({ quality: 95 }).toBuffer();
}

export function pixelAt(image: RawImage, x: number, y: number): [number, number, number] {
  const i = (y * image.width + x) * 3;
  return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
}
