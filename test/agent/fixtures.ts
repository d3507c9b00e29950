import { existsSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { sharedRoot } from "../support/cli.js";

/** A 1200×800 PNG: grey, with a red block at x 600–720, y 240–400 (so crops have something to show). */
export async function syntheticPhoto(width = 1200, height = 800): Promise<Uint8Array> {
  const block = await sharp({
    create: {
      width: Math.round(width / 10),
      height: Math.round(height / 5),
      channels: 3,
      background: { r: 220, g: 20, b: 20 },
    },
  })
    .png()
    .toBuffer();
  return sharp({ create: { width, height, channels: 3, background: { r: 120, g: 130, b: 140 } } })
    .composite([{ input: block, left: Math.round(width / 2), top: Math.round(height * 0.3) }])
    .png()
    .toBuffer();
}

/** The Qwen-Agent cookbook photo (2460×1612) from ../shared, or undefined where that folder is absent. */
export const hopInnPath = path.join(sharedRoot, "data/detail/qwen-agent-hop-inn-pub.jpg");
export const hasSharedData = existsSync(hopInnPath);

/** The synthetic photo written to a temporary PNG file (for the CLI, which takes paths). */
export async function syntheticPhotoFile(width = 1200, height = 800): Promise<string> {
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const file = path.join(mkdtempSync(path.join(tmpdir(), "squint-photo-")), "photo.png");
  writeFileSync(file, await syntheticPhoto(width, height));
  return file;
}
