import sharp from "sharp";
import { SquintError } from "../../errors.js";
import { decodeImage } from "../../model/image-decode.js";
import type { RawImage } from "../../model/vision.js";
import type { Size } from "../geometry.js";
import type { ImageLimits } from "./limits.js";
import type { PixelMemory } from "./pixel-memory.js";
import type { DecodedPixels } from "./shared-originals.js";
import { formatName, looksTruncated, type SniffedFormat } from "./sniff.js";
import type { WorkBudget } from "./work-budget.js";

/**
 * From an original's bytes to its pixels, for the image store: the checks that need no decode (SVG refused by
 * default, truncated files), the header read against the size limits, and the decode itself — its room made
 * in the store first, its memory admitted by the work budget, its pixels put in shared memory.
 */

/** Refuses what can be refused from the bytes alone: an SVG (unless allowed) and a truncated file. */
export function checkEncoded(bytes: Uint8Array, format: SniffedFormat, source: string, allowSvg: boolean): void {
  if (format === "svg" && !allowSvg) {
    throw new SquintError("IMAGE_UNSUPPORTED", `The image from ${source} is an SVG, which is refused by default.`, {
      hint: "Convert it to PNG, or enable SVG input (allowSvg) if you trust its source.",
    });
  }
  if (looksTruncated(bytes, format)) {
    throw new SquintError("IMAGE_DECODE_FAILED", `The ${formatName(format)} from ${source} is truncated.`, {
      hint: "The file or download was cut off: fetch or save it again.",
      details: { format, bytes: bytes.byteLength },
    });
  }
}

/** IMAGE_TOO_LARGE when `size` is over the store's side or pixel limit; `what` names the image in the message. */
export function checkImageSize(size: Size, what: string, limits: ImageLimits): void {
  const { maxPixels, maxDimension } = limits;
  if (size.width > maxDimension || size.height > maxDimension) {
    throw new SquintError(
      "IMAGE_TOO_LARGE",
      `${what} is ${size.width}×${size.height}; no side may exceed ${maxDimension} pixels.`,
      {
        hint: "Downscale or crop the image first, or raise the store's maxDimension.",
        details: { width: size.width, height: size.height, maxDimension },
      },
    );
  }
  if (size.width * size.height > maxPixels) {
    throw new SquintError(
      "IMAGE_TOO_LARGE",
      `${what} has ${size.width * size.height} pixels (${size.width}×${size.height}); the limit is ${maxPixels}.`,
      {
        hint: "Downscale or crop the image first, or raise the store's maxPixels if you trust its source.",
        details: { width: size.width, height: size.height, maxPixels },
      },
    );
  }
}

export interface OriginalDecodeContext {
  limits: ImageLimits;
  work: WorkBudget;
  /** The store's pixel memory: the decode reserves its room there first. */
  memory: PixelMemory;
  signal?: AbortSignal;
}

/** Decodes an original (EXIF orientation applied, 8-bit sRGB) into shared memory, within the limits and budgets. */
export async function decodeOriginal(
  bytes: Uint8Array,
  format: SniffedFormat,
  source: string,
  context: OriginalDecodeContext,
): Promise<DecodedPixels> {
  const { limits, work, memory, signal } = context;
  const header = await readHeader(bytes, format, source);
  checkImageSize(header, `The image from ${source}`, limits);
  // The room in the store first (what that evicts is then collected before the decode's buffers exist).
  const giveBackRoom = memory.reserve(header.width * header.height * 3);
  // The decoder's output and its copy in shared memory: twice the result, admitted first.
  const pixels = await work
    .run(
      header.width * header.height * 3 * 2,
      `Decoding the image from ${source}`,
      async () => {
        const decoded = await decodeImage(bytes, { maxInputPixels: limits.maxPixels });
        const shared = inSharedMemory(decoded);
        // The decoder's own buffer is garbage now but freed only when the GC gets to it: counted till then.
        work.holdUntilCollected(decoded.data.buffer, decoded.data.byteLength);
        return shared;
      },
      signal,
    )
    .finally(giveBackRoom);
  return {
    pixels,
    header: {
      width: pixels.width,
      height: pixels.height,
      format: formatName(format),
      ...(header.orientation === undefined ? {} : { exifOrientation: header.orientation }),
    },
  };
}

async function readHeader(
  bytes: Uint8Array,
  format: SniffedFormat,
  source: string,
): Promise<{ width: number; height: number; orientation?: number }> {
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height) throw new SquintError("IMAGE_DECODE_FAILED", "no dimensions in the header");
    return {
      width: meta.width,
      height: meta.height,
      ...(meta.orientation === undefined ? {} : { orientation: meta.orientation }),
    };
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new SquintError("IMAGE_DECODE_FAILED", `The ${formatName(format)} from ${source} has an unreadable header.`, {
      hint: "The file is damaged or not really an image: save or fetch it again.",
      details: { format, reason },
      cause,
    });
  }
}

/**
 * The pixels in a SharedArrayBuffer: a resize thread then reads (and crops) an original in place instead of
 * the main thread copying it for every zoom. One copy per decode, inside the decode's admitted 2× budget.
 */
function inSharedMemory(image: RawImage): RawImage {
  const data = new Uint8Array(new SharedArrayBuffer(image.data.byteLength));
  data.set(image.data);
  return { width: image.width, height: image.height, data };
}
