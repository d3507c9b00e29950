import sharp from "sharp";
import { SquintError } from "../errors.js";
import type { RawImage } from "../model/vision.js";

/**
 * How images leave the server. IDE hosts have small limits (Claude Desktop refuses results over 1 MB,
 * Claude Code counts image tokens against its output cap, Claude's vision downsizes anything over 1568 px on
 * the long edge or ~1.15 MP anyway), so the inline copy of a result image is sized for them; the full
 * resolution is one resource read away, and that read is kept under the transport's message limit.
 */
export interface EncodedImage {
  data: Buffer;
  mimeType: "image/png" | "image/jpeg";
  width: number;
  height: number;
}

export interface InlineLimits {
  /** Longest side of the inline copy. */
  maxEdge: number;
  /** Pixel count of the inline copy. */
  maxPixels: number;
  /** Encoded bytes of the inline copy (base64 on the wire is 4/3 of this). */
  maxBytes: number;
}

export const DEFAULT_INLINE_LIMITS: Readonly<InlineLimits> = Object.freeze({
  maxEdge: 1568,
  maxPixels: 1_150_000,
  // 600 kB of bytes is 800 kB of base64: under Claude Desktop's 1 MB with room for the text and links.
  maxBytes: 600 * 1024,
});

function rawPipeline(image: RawImage) {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
}

/** The size the inline copy is scaled to before any byte-budget shrinking (never enlarged). */
export function inlineSize(width: number, height: number, limits: InlineLimits = DEFAULT_INLINE_LIMITS) {
  const scale = Math.min(1, limits.maxEdge / Math.max(width, height), Math.sqrt(limits.maxPixels / (width * height)));
  return {
    width: Math.max(1, Math.floor(width * scale)),
    height: Math.max(1, Math.floor(height * scale)),
  };
}

/**
 * Bytes an inline encode holds while it runs, for the work budget: the source it reads (kept alive by the
 * encode even if the store drops it meanwhile) and the scaled copy twice (libvips' output and the encoder's).
 */
export function inlineEncodeBytes(image: RawImage, limits: InlineLimits = DEFAULT_INLINE_LIMITS): number {
  const scaled = inlineSize(image.width, image.height, limits);
  return image.width * image.height * 3 + scaled.width * scaled.height * 3 * 2;
}

/**
 * Bytes a result's inline image holds after its encode, until the response is written: the base64 string, the
 * JSON-RPC message text that embeds it and that text's UTF-8 bytes for the socket (each 4/3 of the encoded
 * bytes). Under load fifty such responses are in flight at once.
 */
export function inlineWireBytes(encodedBytes: number): number {
  return Math.ceil(encodedBytes / 3) * 4 * 3;
}

/** Bytes a full-resolution encode (a resource read) holds: the source and an encoded copy of up to its size. */
export function fullEncodeBytes(image: RawImage): number {
  return image.width * image.height * 3 * 2;
}

async function scaledTo(image: RawImage, width: number, height: number): Promise<RawImage> {
  if (width === image.width && height === image.height) return image;
  const data = await rawPipeline(image).resize(width, height, { fit: "fill", kernel: "lanczos3" }).raw().toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * zlib level 1: a 640×416 zoom of a photo encoded in 15 ms instead of 25 ms at sharp's default 6, for 9 % more
 * bytes. Most zooms of photos do not fit the inline limit as PNG at either level and go on to JPEG, so the
 * attempt's time is what counts; zooms of text and UI fit at both.
 */
export const PNG_COMPRESSION_LEVEL = 1;

/**
 * Inline JPEGs skip libjpeg's second, Huffman-optimising pass: on a 640×416 zoom that pass is a third of the
 * encode's CPU (3.1 → 1.9 ms) for 10 % fewer bytes, and a small zoom's inline copy is ~20 kB of a 600 kB budget.
 * Full-resolution copies (resource reads, one at a time) keep it.
 */
type JpegCoding = "fast" | "optimised";

async function encodeAt(
  image: RawImage,
  width: number,
  height: number,
  format: "png" | "jpeg",
  quality: number,
  coding: JpegCoding = "optimised",
) {
  let pipeline = rawPipeline(image);
  if (width !== image.width || height !== image.height) {
    pipeline = pipeline.resize(width, height, { fit: "fill", kernel: "lanczos3" });
  }
  return format === "png"
    ? pipeline.png({ compressionLevel: PNG_COMPRESSION_LEVEL }).toBuffer()
    : pipeline.jpeg({ quality, mozjpeg: false, optimiseCoding: coding === "optimised" }).toBuffer();
}

/** Bands of rows the PNG size estimate encodes, and how many rows each (an eighth of the rows in all). */
const ESTIMATE_BANDS = 8;
const ESTIMATE_BAND_SHARE = 1 / 64;
/**
 * The PNG is skipped when its estimate is over the byte limit by more than this. On 640×416 zooms of a photo
 * the estimate was 0–4 % over the whole encode (2 ms against 10–12 ms); on a text page and a zoom of it, 0.54×
 * and 1.25×: images near the limit are still tried, so the inline copy stays lossless wherever PNG fits.
 */
export const PNG_ESTIMATE_MARGIN = 1.2;

/**
 * The size `image` would have as PNG (at PNG_COMPRESSION_LEVEL), from encoding ESTIMATE_BANDS bands of rows
 * spread over it, scaled to the whole. Small images (under 64 rows or 64 kB) are not sampled: their size is
 * returned as 0, so they are always tried.
 */
export async function estimatePngBytes(image: RawImage): Promise<number> {
  const rowBytes = image.width * 3;
  const bandRows = Math.floor(image.height * ESTIMATE_BAND_SHARE);
  if (bandRows < 1 || image.data.length < 64 * 1024) return 0;
  const sample = new Uint8Array(ESTIMATE_BANDS * bandRows * rowBytes);
  for (let band = 0; band < ESTIMATE_BANDS; band++) {
    const top = Math.floor(((band + 0.5) * image.height) / ESTIMATE_BANDS - bandRows / 2);
    sample.set(image.data.subarray(top * rowBytes, (top + bandRows) * rowBytes), band * bandRows * rowBytes);
  }
  const encoded = await sharp(sample, { raw: { width: image.width, height: ESTIMATE_BANDS * bandRows, channels: 3 } })
    .png({ compressionLevel: PNG_COMPRESSION_LEVEL })
    .toBuffer();
  return Math.round((encoded.length * image.height) / (ESTIMATE_BANDS * bandRows));
}

// Tried in order until one fits: lossless first (UI screenshots and text crops stay crisp), then JPEG.
const LADDER: ReadonlyArray<{ format: "png" | "jpeg"; quality: number }> = [
  { format: "png", quality: 100 },
  { format: "jpeg", quality: 85 },
  { format: "jpeg", quality: 70 },
];

/** The copy of `image` that goes inline in a tool result. */
export async function encodeInline(
  image: RawImage,
  limits: InlineLimits = DEFAULT_INLINE_LIMITS,
): Promise<EncodedImage> {
  let { width, height } = inlineSize(image.width, image.height, limits);
  // Each round shrinks by 0.75 in both directions; 8 rounds take any image under any sane byte budget.
  for (let round = 0; round < 8; round++) {
    // Scaled once per round, not once per format tried: the lanczos pass over a 12 MP zoom costs more than
    // the encodes, and a photo tries PNG before JPEG fits.
    const scaled = await scaledTo(image, width, height);
    // A photo's PNG seldom fits: a sample of its rows says so for a fraction of a whole encode's time.
    const pngHopeless = (await estimatePngBytes(scaled)) > limits.maxBytes * PNG_ESTIMATE_MARGIN;
    for (const step of LADDER) {
      if (step.format === "png" && pngHopeless) continue;
      const data = await encodeAt(scaled, width, height, step.format, step.quality, "fast");
      if (data.length <= limits.maxBytes) {
        return { data, mimeType: step.format === "png" ? "image/png" : "image/jpeg", width, height };
      }
    }
    width = Math.max(1, Math.floor(width * 0.75));
    height = Math.max(1, Math.floor(height * 0.75));
  }
  throw new SquintError(
    "INTERNAL",
    `Could not fit a ${image.width}×${image.height} image into ${limits.maxBytes} bytes.`,
    {
      hint: "Raise the inline image byte limit.",
    },
  );
}

/** The full-resolution image for a resource read: PNG when it fits `maxBytes`, else high-quality JPEG. */
export async function encodeFull(image: RawImage, maxBytes: number): Promise<EncodedImage> {
  for (const step of [
    { format: "png", quality: 100 } as const,
    { format: "jpeg", quality: 92 } as const,
    { format: "jpeg", quality: 80 } as const,
  ]) {
    const data = await encodeAt(image, image.width, image.height, step.format, step.quality);
    if (data.length <= maxBytes) {
      return {
        data,
        mimeType: step.format === "png" ? "image/png" : "image/jpeg",
        width: image.width,
        height: image.height,
      };
    }
  }
  throw new SquintError(
    "IMAGE_TOO_LARGE",
    `The ${image.width}×${image.height} image does not fit one message (${maxBytes} bytes) even as JPEG.`,
    {
      hint: "Crop or zoom into the part you need and read that result instead.",
      details: { width: image.width, height: image.height, maxBytes },
    },
  );
}
