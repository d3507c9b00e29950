import sharp from "sharp";
import { SquintError } from "../../errors.js";
import { type RotatedRect, rectPoint } from "./rotated-rect.js";
import type { OcrImage } from "./types.js";

/** Decodes encoded bytes (PNG, JPEG, WebP, ...) to RGB, EXIF-rotated, alpha flattened onto white. */
export async function decodeToRgb(bytes: Uint8Array): Promise<OcrImage> {
  try {
    const { data, info } = await sharp(bytes)
      .rotate()
      .flatten({ background: "#ffffff" })
      .toColourspace("srgb")
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      channels: 3,
    };
  } catch (cause) {
    throw new SquintError("IMAGE_DECODE_FAILED", "OCR could not decode the image bytes.", {
      hint: "Pass a PNG, JPEG, WebP, GIF or TIFF image.",
      cause,
    });
  }
}

/** Any 1-4 channel 8-bit image as RGB (grey is replicated, alpha is composited onto white). */
export function toRgb(image: OcrImage): OcrImage {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new SquintError("INVALID_ARGUMENT", `OCR got an image of ${width}x${height} pixels.`, {
      hint: "Give an image with a positive integer width and height.",
    });
  }
  if (channels < 1 || channels > 4 || data.length !== width * height * channels) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      "OCR got raw pixels whose length does not match width x height x channels.",
      {
        hint: "Pass interleaved 8-bit pixels with 1 to 4 channels.",
        details: { width, height, channels, bytes: data.length },
      },
    );
  }
  if (channels === 3) return image;
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < data.length; i += channels, j += 3) {
    const grey = channels <= 2;
    const alpha = channels === 2 || channels === 4 ? data[i + channels - 1] / 255 : 1;
    for (let c = 0; c < 3; c++) {
      const value = grey ? data[i] : data[i + c];
      out[j + c] = Math.round(value * alpha + 255 * (1 - alpha));
    }
  }
  return { data: out, width, height, channels: 3 };
}

/** Resizes RGB pixels with sharp (Lanczos when shrinking, which keeps thin strokes). */
export async function resizeRgb(image: OcrImage, width: number, height: number): Promise<OcrImage> {
  if (width === image.width && height === image.height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: "fill" })
    .raw()
    .toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels: 3 };
}

/**
 * Samples a rotated rectangle of an RGB image into an upright strip (`outWidth` x `outHeight`), bilinearly.
 * Pixels outside the image read as the nearest edge pixel.
 */
export function sampleRect(image: OcrImage, rect: RotatedRect, outWidth: number, outHeight: number): OcrImage {
  const out = new Uint8Array(outWidth * outHeight * 3);
  const { data, width, height } = image;
  const stepS = rect.width / outWidth;
  const stepT = rect.height / outHeight;
  for (let j = 0; j < outHeight; j++) {
    const t = (j + 0.5) * stepT - rect.height / 2;
    for (let i = 0; i < outWidth; i++) {
      const s = (i + 0.5) * stepS - rect.width / 2;
      const p = rectPoint(rect, s, t);
      const x = Math.min(Math.max(p.x - 0.5, 0), width - 1);
      const y = Math.min(Math.max(p.y - 0.5, 0), height - 1);
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const x1 = Math.min(x0 + 1, width - 1);
      const y1 = Math.min(y0 + 1, height - 1);
      const fx = x - x0;
      const fy = y - y0;
      const o = (j * outWidth + i) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[(y0 * width + x0) * 3 + c] * (1 - fx) + data[(y0 * width + x1) * 3 + c] * fx;
        const bottom = data[(y1 * width + x0) * 3 + c] * (1 - fx) + data[(y1 * width + x1) * 3 + c] * fx;
        out[o + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return { data: out, width: outWidth, height: outHeight, channels: 3 };
}
