import sharp, { type Sharp } from "sharp";
import type { RawImage } from "../../model/vision.js";

export { cropPixels, type PixelRect } from "./raw-crop.js";

/**
 * Operations on the store's decoded RGB pixels. Crops are row copies (no decoder, no codec); everything that
 * resamples goes through sharp on raw buffers, so nothing is ever re-encoded between tools.
 */

function sharpRaw(image: RawImage): Sharp {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
}

async function toRaw(pipeline: Sharp): Promise<RawImage> {
  const { data, info } = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  const pixels = info.width * info.height;
  if (info.channels === 3) {
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  }
  // sharp keeps greyscale results single-channel (and may add alpha); the store keeps RGB everywhere.
  const out = new Uint8Array(pixels * 3);
  const step = info.channels;
  const grey = step <= 2;
  for (let i = 0; i < pixels; i++) {
    const at = i * step;
    out[i * 3] = data[at]!;
    out[i * 3 + 1] = grey ? data[at]! : data[at + 1]!;
    out[i * 3 + 2] = grey ? data[at]! : data[at + 2]!;
  }
  return { width: info.width, height: info.height, data: out };
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** Clockwise rotation onto a canvas grown to hold the whole image; uncovered corners get `background`. */
export async function rotatePixels(image: RawImage, degrees: number, background: Rgb): Promise<RawImage> {
  return toRaw(sharpRaw(image).rotate(degrees, { background: { ...background, alpha: 1 } }));
}

export interface EnhanceSteps {
  greyscale?: boolean | undefined;
  /** Linear contrast about mid-grey: 1 leaves the image as it is, 2 doubles the distance from 128. */
  contrast?: number | undefined;
  /** Stretch the histogram to the full 0–255 range (per channel luminance, as sharp's normalise). */
  normalize?: boolean | undefined;
  /** Unsharp-mask sigma in pixels (0.5–10). */
  sharpen?: number | undefined;
  /** Black/white at this luminance level (0–255). */
  threshold?: number | undefined;
  invert?: boolean | undefined;
}

/** Applies the steps in a fixed order: greyscale, normalise, contrast, sharpen, threshold, invert. */
export async function enhancePixels(image: RawImage, steps: EnhanceSteps): Promise<RawImage> {
  let pipeline = sharpRaw(image);
  if (steps.greyscale) pipeline = pipeline.greyscale();
  if (steps.normalize) pipeline = pipeline.normalise();
  if (steps.contrast !== undefined && steps.contrast !== 1) {
    // out = c·in + 128·(1 − c): the mid-grey stays put.
    pipeline = pipeline.linear(steps.contrast, 128 * (1 - steps.contrast));
  }
  if (steps.sharpen !== undefined) pipeline = pipeline.sharpen({ sigma: steps.sharpen });
  if (steps.threshold !== undefined) pipeline = pipeline.threshold(steps.threshold, { greyscale: true });
  if (steps.invert) pipeline = pipeline.negate({ alpha: false });
  return toRaw(pipeline);
}

/** Draws an SVG of the image's size over it. */
export async function overlaySvg(image: RawImage, svg: string): Promise<RawImage> {
  // Composite adds an alpha channel to the raw RGB; toRaw drops it again.
  return toRaw(sharpRaw(image).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]));
}
