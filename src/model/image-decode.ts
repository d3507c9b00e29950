import sharp from "sharp";
import { isSquintError, SquintError } from "../errors.js";

/**
 * Decodes any image sharp can read into 8-bit sRGB pixels, the way qwen-vl-utils prepares an image before the
 * processor sees it: EXIF orientation applied (photos come out upright), the first frame of an animation,
 * CMYK and 16-bit converted to 8-bit sRGB, and transparency composited over white (`to_rgb` in qwen-vl-utils).
 */

/** sharp's own default (0x3FFF²): large enough for real photos, small enough to refuse decompression bombs. */
export const DEFAULT_MAX_INPUT_PIXELS = 268_402_689;

/** Decoded pixels: RGB, 3 channels, 8 bits each, row-major (`data[(y * width + x) * 3 + c]`). */
export interface RawImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface DecodeImageOptions {
  /** Refuse images with more pixels than this (width × height, before orientation). */
  maxInputPixels?: number;
}

export async function decodeImage(input: Uint8Array | string, options: DecodeImageOptions = {}): Promise<RawImage> {
  const maxInputPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  if (!Number.isInteger(maxInputPixels) || maxInputPixels <= 0) {
    throw new SquintError("INVALID_ARGUMENT", `maxInputPixels must be a positive integer, got ${maxInputPixels}`, {
      hint: "Pass a pixel count such as 268402689, or leave it out for the default.",
    });
  }
  const source = typeof input === "string" ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  try {
    const { data, info } = await sharp(source, {
      autoOrient: true,
      limitInputPixels: maxInputPixels,
      page: 0,
      pages: 1,
      // Decode what can be decoded; only real errors (not benign warnings) reject an image.
      failOn: "error",
    })
      // Colour-managed conversion: CMYK (with its profile, or sharp's fallback) and 16-bit become 8-bit sRGB.
      .toColourspace("srgb")
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .removeAlpha()
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      throw new SquintError("IMAGE_DECODE_FAILED", `Decoding gave ${info.channels} channels, expected RGB`, {
        hint: "Convert the image to an RGB PNG or JPEG and try again.",
        details: { channels: info.channels, width: info.width, height: info.height },
      });
    }
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch (error) {
    throw mapSharpError(error, input, maxInputPixels);
  }
}

function mapSharpError(error: unknown, input: Uint8Array | string, maxInputPixels: number): SquintError {
  if (isSquintError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const what = typeof input === "string" ? `"${input}"` : `the image (${input.byteLength} bytes)`;
  if (/pixel limit/i.test(message)) {
    return new SquintError("IMAGE_TOO_LARGE", `${capitalise(what)} has more than ${maxInputPixels} pixels`, {
      hint: "Downscale the image before sending it, or raise the input pixel limit if you trust its source.",
      details: { maxInputPixels },
      cause: error,
    });
  }
  if (typeof input === "string" && /missing|no such file|ENOENT/i.test(message)) {
    return new SquintError("NOT_FOUND", `Image file ${what} does not exist`, {
      hint: "Check the path (relative paths are resolved from the current directory).",
      cause: error,
    });
  }
  return new SquintError("IMAGE_DECODE_FAILED", `Could not decode ${what}: ${message}`, {
    hint: "Send a valid JPEG, PNG, WebP, GIF, TIFF or AVIF image.",
    details: { reason: message },
    cause: error,
  });
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
