import { SquintError } from "../errors.js";
import { DEFAULT_PREPROCESSOR_CONFIG, type PreprocessorConfig } from "./config.js";
import { checkRawImage, requirePositiveInteger, resizeBicubicSync } from "./bicubic.js";
import { decodeImage, type ImageSize, type RawImage, readImageSize, shrinkRaw } from "./image-decode.js";

export { checkRawImage, resizeBicubicSync };

/**
 * Qwen3-VL image preprocessing, as the Hugging Face processor does it (spec §2.1): smart_resize to multiples
 * of patch × merge (32), bicubic resize, rescale and normalise, a single image repeated to two frames, then
 * patches laid out in 2×2-merge-block order so the vision encoder can merge four consecutive rows.
 */

// RawImage lives with the decoder that makes it; re-exported here because the preprocessing API takes it.
export type { RawImage } from "./image-decode.js";

/** Any subset of the processor settings; what is left out takes the HF processor's Qwen3-VL value. */
export type ImagePreprocessOptions = Partial<PreprocessorConfig>;

export interface SmartResizeOptions {
  /** patch_size × merge_size: 32 for Qwen3-VL. */
  factor: number;
  minPixels: number;
  maxPixels: number;
}

export interface ResizedSize {
  height: number;
  width: number;
}

/** Python's `round()` on a float: ties go to the even neighbour (2.5 -> 2, 3.5 -> 4), unlike Math.round. */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  // Exact for every double below 2^52, so the tie test sees the true binary value.
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The size an image is resized to before patching (transformers `smart_resize`, image variant): both sides
 * multiples of `factor`, area within [minPixels, maxPixels], aspect ratio kept as well as rounding allows.
 */
export function smartResize(height: number, width: number, options: SmartResizeOptions): ResizedSize {
  const { factor, minPixels, maxPixels } = options;
  requirePositiveInteger("height", height);
  requirePositiveInteger("width", width);
  requirePositiveInteger("factor", factor);
  requirePositiveInteger("minPixels", minPixels);
  requirePositiveInteger("maxPixels", maxPixels);
  if (minPixels > maxPixels) {
    throw new SquintError("INVALID_ARGUMENT", `minPixels (${minPixels}) is larger than maxPixels (${maxPixels})`, {
      hint: "Swap the two values or raise maxPixels.",
    });
  }
  if (height < factor || width < factor) {
    throw new SquintError(
      "IMAGE_TOO_SMALL",
      `The image is ${width}×${height}; both sides must be at least ${factor} pixels`,
      {
        hint: `Upscale the image so that each side is at least ${factor} pixels.`,
        details: { width, height, factor },
      },
    );
  }
  const aspect = Math.max(height, width) / Math.min(height, width);
  if (aspect > 200) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `The image is ${width}×${height}: aspect ratio ${aspect.toFixed(1)} is over 200`,
      {
        hint: "Crop the image into pieces whose long side is at most 200 times the short side.",
        details: { width, height },
      },
    );
  }
  let resizedHeight = roundHalfEven(height / factor) * factor;
  let resizedWidth = roundHalfEven(width / factor) * factor;
  if (resizedHeight * resizedWidth > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    // The max(factor, …) guard (as in qwen-vl-utils and the video variant) only matters for tiny custom budgets.
    resizedHeight = Math.max(factor, Math.floor(height / beta / factor) * factor);
    resizedWidth = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (resizedHeight * resizedWidth < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    resizedHeight = Math.ceil((height * beta) / factor) * factor;
    resizedWidth = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: resizedHeight, width: resizedWidth };
}

/** Fills in the HF processor defaults and checks the geometry that patching relies on. */
export function resolvePreprocessOptions(options: ImagePreprocessOptions = {}): PreprocessorConfig {
  const d = DEFAULT_PREPROCESSOR_CONFIG;
  const resolved: PreprocessorConfig = {
    patchSize: options.patchSize ?? d.patchSize,
    temporalPatchSize: options.temporalPatchSize ?? d.temporalPatchSize,
    mergeSize: options.mergeSize ?? d.mergeSize,
    imageMean: options.imageMean ?? d.imageMean,
    imageStd: options.imageStd ?? d.imageStd,
    rescaleFactor: options.rescaleFactor ?? d.rescaleFactor,
    minPixels: options.minPixels ?? d.minPixels,
    maxPixels: options.maxPixels ?? d.maxPixels,
  };
  requirePositiveInteger("patchSize", resolved.patchSize);
  requirePositiveInteger("mergeSize", resolved.mergeSize);
  requirePositiveInteger("temporalPatchSize", resolved.temporalPatchSize);
  requirePositiveInteger("minPixels", resolved.minPixels);
  requirePositiveInteger("maxPixels", resolved.maxPixels);
  for (const std of resolved.imageStd) {
    if (!(Number.isFinite(std) && std !== 0)) {
      throw new SquintError("INVALID_ARGUMENT", `imageStd must be finite and non-zero, got ${std}`, {
        hint: "Use the checkpoint's preprocessor_config.json values (0.5 for Qwen3-VL).",
      });
    }
  }
  return resolved;
}

export interface PreprocessedImage {
  /** `[gridT·gridH·gridW, 3·temporalPatchSize·patchSize²]` row-major (1536 columns for Qwen3-VL). */
  pixelValues: Float32Array;
  /** In patch units: `[1, resizedHeight/16, resizedWidth/16]`. */
  gridThw: [number, number, number];
  /** The resized width and height (what the model sees). */
  width: number;
  height: number;
}

/** Decodes (when needed), resizes, normalises and patches one image. */
export async function preprocessImage(
  input: RawImage | Uint8Array | string,
  options: ImagePreprocessOptions & { resize?: ResizeMode } = {},
): Promise<PreprocessedImage> {
  const config = resolvePreprocessOptions(options);
  const budget = {
    factor: config.patchSize * config.mergeSize,
    minPixels: config.minPixels,
    maxPixels: config.maxPixels,
  };
  let resized: RawImage;
  let size: ResizedSize;
  if (isRawImage(input)) {
    const image = checkRawImage(input);
    size = smartResize(image.height, image.width, budget);
    resized = await resizeBicubic(image, size.width, size.height, options.resize);
  } else {
    const source = await readImageSize(input);
    size = smartResize(source.height, source.width, budget);
    const shrink = isShrink(source, size);
    // A shrink is decoded straight to its size in one libvips pass; anything else (an upscale, a mixed resize,
    // or "exact") is decoded whole and resized by resizeBicubic, Pillow-exact where that is cheap.
    resized =
      shrink && options.resize !== "exact"
        ? await decodeImage(input, { shrinkTo: size })
        : await resizeBicubic(await decodeImage(input), size.width, size.height, options.resize);
  }
  const frames = Array.from({ length: config.temporalPatchSize }, () => resized.data);
  const { pixelValues, gridThw } = await patchifyFramesAsync(frames, size.width, size.height, config);
  return { pixelValues, gridThw, width: size.width, height: size.height };
}

/** The number of `<|image_pad|>` tokens the model spends on an image of this size. */
export function visualTokenCount(width: number, height: number, options: ImagePreprocessOptions = {}): number {
  const config = resolvePreprocessOptions(options);
  const size = smartResize(height, width, {
    factor: config.patchSize * config.mergeSize,
    minPixels: config.minPixels,
    maxPixels: config.maxPixels,
  });
  // A still image is one temporal patch (grid_t = 1).
  return ((size.height / config.patchSize) * (size.width / config.patchSize)) / (config.mergeSize * config.mergeSize);
}

export function isRawImage(value: unknown): value is RawImage {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    "width" in value &&
    "height" in value &&
    "data" in value
  );
}

/** How resizeBicubic computes a shrink (an upscale is always Pillow-exact). */
export type ResizeMode = "fast" | "exact";

/**
 * Bicubic resize as the Python processors do it (Pillow's `Image.resize(size, BICUBIC)` on 8-bit RGB).
 * - Upscales (either axis grows) and `mode: "exact"`: resizeBicubicSync, Pillow bit for bit. Cheap where
 *   it is used (crops of a few hundred pixels zoomed in), and exact where sharp is not: libvips' upscaling
 *   samples off Pillow's pixel grid (a 2× upscale lands a quarter input pixel away), which moved real
 *   photos by 4.5/255 on average for a 2460→2464 resize.
 * - Shrinks (default "fast"): sharp/libvips' Catmull-Rom cubic (the same Keys a = −0.5 kernel, widened by the
 *   scale as Pillow does), run on libvips' threads, so it neither blocks the event loop nor costs the
 *   ~200 ms a 12 MP photo takes in JavaScript. Within ~1e-3 of Pillow on average on real photos
 *   (bench/model/preprocess.ts measures it), against the issue's 0.01 bound.
 */
export async function resizeBicubic(
  image: RawImage,
  width: number,
  height: number,
  mode: ResizeMode = "fast",
): Promise<RawImage> {
  checkRawImage(image);
  requirePositiveInteger("width", width);
  requirePositiveInteger("height", height);
  if (mode === "exact" || !isShrink(image, { width, height })) return resizeBicubicSync(image, width, height);
  return shrinkRaw(image, width, height);
}

/** No side grows and at least one gets smaller. */
export function isShrink(from: ImageSize, to: ImageSize): boolean {
  return to.width <= from.width && to.height <= from.height && (to.width < from.width || to.height < from.height);
}

interface PatchifyPlan {
  frames: readonly Uint8Array[];
  width: number;
  config: PreprocessorConfig;
  gridT: number;
  gridH: number;
  gridW: number;
  rowLength: number;
  lut: Float32Array;
  out: Float32Array;
}

function planPatchify(
  frames: readonly Uint8Array[],
  width: number,
  height: number,
  config: PreprocessorConfig,
): PatchifyPlan {
  const { patchSize: p, mergeSize: m, temporalPatchSize: tp } = config;
  if (frames.length === 0 || frames.length % tp !== 0) {
    throw new SquintError("INTERNAL", `patchifyFrames needs a multiple of ${tp} frames, got ${frames.length}`);
  }
  if (width % (p * m) !== 0 || height % (p * m) !== 0) {
    throw new SquintError("INTERNAL", `Frame size ${width}×${height} is not a multiple of ${p * m}`);
  }
  for (const frame of frames) {
    if (frame.length !== width * height * 3) {
      throw new SquintError("INTERNAL", `A frame has ${frame.length} bytes, expected ${width * height * 3}`);
    }
  }
  const gridT = frames.length / tp;
  const gridH = height / p;
  const gridW = width / p;
  const rowLength = 3 * tp * p * p;
  // One lookup per channel and byte value: x·rescale, then (x − mean)/std.
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = config.imageMean[c];
    const std = config.imageStd[c];
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v * config.rescaleFactor - mean) / std;
  }
  const out = new Float32Array(gridT * gridH * gridW * rowLength);
  return { frames, width, config, gridT, gridH, gridW, rowLength, lut, out };
}

/**
 * Fills the rows of merge-block rows [from, to) of temporal group t, one output row (patch) after another.
 * Each pixel is read once and its three channels go to their planes of the row. A frame repeated within the
 * group (a still image is the same frame twice) is written once per channel and its plane copied
 * (copyWithin, a memcpy) to the repeats: half the element stores of writing both, ~1.3× faster at 1.3 MP.
 */
function patchifyBlockRows(plan: PatchifyPlan, t: number, from: number, to: number): void {
  const { frames, width, config, gridW, rowLength, lut, out } = plan;
  const { patchSize: p, mergeSize: m, temporalPatchSize: tp } = config;
  const plane = p * p;
  const channelStride = tp * plane;
  let o = (t * (plan.gridH / m) + from) * gridW * m * rowLength;
  for (let blockRow = from; blockRow < to; blockRow++) {
    for (let blockCol = 0; blockCol < gridW / m; blockCol++) {
      for (let inRow = 0; inRow < m; inRow++) {
        for (let inCol = 0; inCol < m; inCol++) {
          const y0 = (blockRow * m + inRow) * p;
          const x0 = (blockCol * m + inCol) * p;
          // Runs of one frame: [tt, tt + copies) are the same Uint8Array.
          for (let tt = 0, copies = 1; tt < tp; tt += copies) {
            const frame = frames[t * tp + tt];
            copies = 1;
            while (tt + copies < tp && frames[t * tp + tt + copies] === frame) copies++;
            const first = o + tt * plane;
            for (let py = 0; py < p; py++) {
              let src = ((y0 + py) * width + x0) * 3;
              const rowStart = first + py * p;
              for (let d = rowStart, end = rowStart + p; d < end; d++, src += 3) {
                out[d] = lut[frame[src]];
                out[d + channelStride] = lut[256 + frame[src + 1]];
                out[d + 2 * channelStride] = lut[512 + frame[src + 2]];
              }
            }
            for (let k = 1; k < copies; k++) {
              for (let c = 0; c < 3; c++) {
                const start = first + c * channelStride;
                out.copyWithin(start + k * plane, start, start + plane);
              }
            }
          }
          o += rowLength;
        }
      }
    }
  }
}

/**
 * Rescales, normalises and patches equally sized RGB frames (their count a multiple of temporalPatchSize).
 * Rows are ordered (t, block_row, block_col, row_in_block, col_in_block) and each row is [c][t][py][px]
 * — the reshape/permute of spec §2.1 written as direct indexing.
 */
export function patchifyFrames(
  frames: readonly Uint8Array[],
  width: number,
  height: number,
  config: PreprocessorConfig,
): { pixelValues: Float32Array; gridThw: [number, number, number] } {
  const plan = planPatchify(frames, width, height, config);
  const blockRows = plan.gridH / config.mergeSize;
  for (let t = 0; t < plan.gridT; t++) patchifyBlockRows(plan, t, 0, blockRows);
  return { pixelValues: plan.out, gridThw: [plan.gridT, plan.gridH, plan.gridW] };
}

/** Patch values written between two turns of the event loop (~1 MB of float32, a few ms). */
const PATCHIFY_SLICE_VALUES = 256 * 1024;

/**
 * patchifyFrames in slices of merge-block rows with the event loop let through between them, so that a
 * 16 MP image (100 M values) does not stall a server for its whole length. Same output.
 */
export async function patchifyFramesAsync(
  frames: readonly Uint8Array[],
  width: number,
  height: number,
  config: PreprocessorConfig,
): Promise<{ pixelValues: Float32Array; gridThw: [number, number, number] }> {
  const plan = planPatchify(frames, width, height, config);
  const blockRows = plan.gridH / config.mergeSize;
  const valuesPerBlockRow = plan.gridW * config.mergeSize * plan.rowLength;
  const step = Math.max(1, Math.floor(PATCHIFY_SLICE_VALUES / valuesPerBlockRow));
  for (let t = 0; t < plan.gridT; t++) {
    for (let from = 0; from < blockRows; from += step) {
      patchifyBlockRows(plan, t, from, Math.min(blockRows, from + step));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return { pixelValues: plan.out, gridThw: [plan.gridT, plan.gridH, plan.gridW] };
}
