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

/** An integer rectangle of an image's pixels. */
export interface PixelRegion {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface ImageSize {
  width: number;
  height: number;
}

/**
 * The size decodeImage will give for this image (EXIF orientation applied), read from its header alone, so a
 * caller can choose the output size before paying for a full decode.
 */
export async function readImageSize(input: Uint8Array | string): Promise<ImageSize> {
  try {
    const meta = await sharp(toSharpInput(input), { page: 0, pages: 1 }).metadata();
    const width = meta.autoOrient?.width ?? meta.width;
    const height = meta.autoOrient?.height ?? meta.pageHeight ?? meta.height;
    if (!width || !height) {
      throw new SquintError("IMAGE_DECODE_FAILED", "The image header gives no width or height", {
        hint: "Send a valid JPEG, PNG, WebP, GIF, TIFF or AVIF image.",
      });
    }
    return { width, height };
  } catch (error) {
    throw mapSharpError(error, input, DEFAULT_MAX_INPUT_PIXELS);
  }
}

export interface DecodeShrunkOptions extends DecodeImageOptions {
  /**
   * Shrink to exactly this size (each side no larger than the image's) with libvips' Catmull-Rom cubic
   * (Pillow's bicubic kernel), in the same libvips pass as the decode for 8-bit sRGB and grey images: no
   * full-size copy goes through JavaScript and libvips overlaps the decode with the resize on its threads.
   * The decode is always at full scale. libjpeg's 1/2–1/8 shrink-on-load and libwebp's scaler are faster but
   * leave Pillow's pixels: rendered text shrunk 3–4× came out 2–3e-2 off on average (bench/model/
   * preprocess-fidelity.ts), over the 0.01, where the full-scale decode is 2e-3 at 3× and 9e-3 at 4×
   * (libvips' own resize; photos stay near 5e-4).
   */
  shrinkTo?: ImageSize;
}

export async function decodeImage(input: Uint8Array | string, options: DecodeShrunkOptions = {}): Promise<RawImage> {
  const maxInputPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  if (!Number.isInteger(maxInputPixels) || maxInputPixels <= 0) {
    throw new SquintError("INVALID_ARGUMENT", `maxInputPixels must be a positive integer, got ${maxInputPixels}`, {
      hint: "Pass a pixel count such as 268402689, or leave it out for the default.",
    });
  }
  const target = options.shrinkTo;
  if (
    target &&
    !(Number.isInteger(target.width) && Number.isInteger(target.height) && target.width > 0 && target.height > 0)
  ) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `shrinkTo must be positive integers, got ${target.width}×${target.height}`,
      {
        hint: "Pass the output size in whole pixels.",
      },
    );
  }
  try {
    const image = sharp(toSharpInput(input), {
      autoOrient: true,
      limitInputPixels: maxInputPixels,
      page: 0,
      pages: 1,
      // Decode what can be decoded; only real errors (not benign warnings) reject an image.
      failOn: "error",
    });
    if (target && !ONE_PASS_SPACES.has((await image.metadata()).space ?? "")) {
      // CMYK and 16-bit images keep their colour-managed conversion: whole decode, then the shrink.
      return await shrinkRaw(await decodeImage(input, { maxInputPixels }), target.width, target.height);
    }
    let pipeline = image
      // Colour-managed conversion: CMYK (with its profile, or sharp's fallback) and 16-bit become 8-bit sRGB.
      .toColourspace("srgb")
      // sharp flattens before it resizes, so the shrink sees the same composited pixels as a full decode.
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .removeAlpha();
    if (target) {
      pipeline = pipeline
        // A pipeline colourspace is what turns sharp's shrink-on-load off (see shrinkTo); a no-op conversion here.
        .pipelineColourspace("srgb")
        .resize(target.width, target.height, { kernel: "cubic", fit: "fill", withoutEnlargement: true });
    }
    const { data, info } = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      throw new SquintError("IMAGE_DECODE_FAILED", `Decoding gave ${info.channels} channels, expected RGB`, {
        hint: "Convert the image to an RGB PNG or JPEG and try again.",
        details: { channels: info.channels, width: info.width, height: info.height },
      });
    }
    if (target && (info.width !== target.width || info.height !== target.height)) {
      throw new SquintError(
        "INVALID_ARGUMENT",
        `Cannot shrink a ${info.width}×${info.height} decode to ${target.width}×${target.height}: shrinkTo only shrinks`,
        { hint: "Ask for a size no larger than readImageSize() gives, or decode and resize separately." },
      );
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

/** The colour spaces whose conversion to 8-bit sRGB is the same at the start of the pipeline as at its end. */
const ONE_PASS_SPACES = new Set(["srgb", "b-w"]);

/**
 * libvips' Catmull-Rom shrink of decoded pixels (of `region` of them, read in place, when given), on its own
 * threads (off the event loop). Each side must be no larger than the image's (or the region's).
 */
export async function shrinkRaw(
  image: RawImage,
  width: number,
  height: number,
  region?: PixelRegion,
): Promise<RawImage> {
  let pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  if (region) pipeline = pipeline.extract(region);
  const { data, info } = await pipeline
    .resize(width, height, { kernel: "cubic", fit: "fill", withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    const from = region ? `a ${region.width}×${region.height} region` : `${image.width}×${image.height}`;
    throw new SquintError(
      "INVALID_ARGUMENT",
      `Cannot shrink ${from} to ${width}×${height}: only shrinks are done this way`,
      { hint: "Ask for a size no larger than the image, or use resizeBicubic for upscales." },
    );
  }
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function toSharpInput(input: Uint8Array | string): Buffer | string {
  return typeof input === "string" ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
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
