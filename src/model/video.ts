import { SquintError } from "../errors.js";
import { decodeImage } from "./image-decode.js";
import {
  checkRawImage,
  type ImagePreprocessOptions,
  isRawImage,
  patchifyFrames,
  type RawImage,
  resizeBicubic,
  resolvePreprocessOptions,
  roundHalfEven,
} from "./vision.js";

/**
 * Qwen3-VL video preprocessing as the HF `Qwen3VLVideoProcessor` does it (spec §2.2): sample frames at `fps`,
 * resize every frame with the video variant of smart_resize (the pixel budget covers all frames), pad to an
 * even frame count, patch each 2-frame group like an image, and give each group the timestamp text the prompt
 * puts before its `<|vision_start|>`.
 */

/** The checkpoint's video_preprocessor_config.json budget (spec §2.2): over T×H×W of all sampled frames. */
export const DEFAULT_VIDEO_MIN_PIXELS = 4096;
export const DEFAULT_VIDEO_MAX_PIXELS = 25_165_824;

export interface VideoPreprocessOptions extends Omit<ImagePreprocessOptions, "minPixels" | "maxPixels"> {
  /** Frame rate of the frames given (required: timestamps and sampling depend on it). */
  sourceFps: number;
  /** Frames to keep per second of video. */
  fps?: number;
  minFrames?: number;
  maxFrames?: number;
  /** Least pixels over all sampled frames (t_bar·h·w). */
  minPixels?: number;
  /** Most pixels over all sampled frames (t_bar·h·w). */
  maxPixels?: number;
  /**
   * Cap each frame the way qwen-vl-utils does (transformers 5.x `cap_pixels_per_frame`): per-frame pixels at
   * most min(768·32², maxPixels/frames), at least 1.05·minPixels. Off by default, as in transformers today.
   */
  capPixelsPerFrame?: boolean;
}

export interface PreprocessedVideo {
  /** `[gridT·gridH·gridW, 1536]` row-major, groups in time order. */
  pixelValues: Float32Array;
  /** In patch units; gridT = number of 2-frame groups. */
  gridThw: [number, number, number];
  /** One per group, as Python's `f"{t:.1f}"` prints the group's mean time in seconds. */
  timestamps: string[];
  /** `<|video_pad|>` tokens in each group's block (gridH·gridW/merge²). */
  tokensPerGroup: number;
  /** Indices (into the frames given) of the frames that were kept, before padding. */
  frameIndices: number[];
  /** Resized frame size. */
  width: number;
  height: number;
}

/**
 * Which frames to keep (transformers `sample_frames` with fps): `n = int(total / sourceFps · fps)` clamped to
 * [minFrames, min(maxFrames, total)], indices = numpy `round(linspace(0, total − 1, n))` (half-to-even).
 */
export function sampleFrameIndices(
  totalFrames: number,
  options: { sourceFps: number; fps?: number; minFrames?: number; maxFrames?: number },
): number[] {
  const fps = options.fps ?? 2;
  const minFrames = options.minFrames ?? 4;
  const maxFrames = options.maxFrames ?? 768;
  requirePositiveInteger("totalFrames", totalFrames);
  requirePositiveNumber("sourceFps", options.sourceFps);
  requirePositiveNumber("fps", fps);
  requirePositiveInteger("minFrames", minFrames);
  requirePositiveInteger("maxFrames", maxFrames);
  const wanted = Math.trunc((totalFrames / options.sourceFps) * fps);
  const count = Math.min(Math.max(wanted, minFrames), maxFrames, totalFrames);
  if (count === 1) return [0];
  // numpy linspace: i·step for the inner points, the end point set exactly.
  const step = (totalFrames - 1) / (count - 1);
  const indices: number[] = [];
  for (let i = 0; i < count - 1; i++) indices.push(roundHalfEven(i * step));
  indices.push(totalFrames - 1);
  return indices;
}

/**
 * The video variant of smart_resize (transformers `video_processing_qwen3_vl.smart_resize`): frames smaller than
 * `factor` are scaled up first, and the budget test uses `t_bar·h·w` with t_bar the frame count rounded to even.
 */
export function smartResizeVideo(
  numFrames: number,
  height: number,
  width: number,
  options: { factor: number; temporalFactor: number; minPixels: number; maxPixels: number },
): { height: number; width: number } {
  const { factor, temporalFactor, minPixels, maxPixels } = options;
  requirePositiveInteger("numFrames", numFrames);
  requirePositiveInteger("height", height);
  requirePositiveInteger("width", width);
  if (numFrames < temporalFactor) {
    throw new SquintError("INVALID_ARGUMENT", `A video needs at least ${temporalFactor} frames, got ${numFrames}`, {
      hint: "Send more frames, or send a single frame as an image.",
    });
  }
  let h = height;
  let w = width;
  if (h < factor || w < factor) {
    const scale = Math.max(factor / h, factor / w);
    h = Math.trunc(h * scale);
    w = Math.trunc(w * scale);
  }
  const aspect = Math.max(h, w) / Math.min(h, w);
  if (aspect > 200) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `Video frames are ${width}×${height}: aspect ratio ${aspect.toFixed(1)} is over 200`,
      {
        hint: "Crop the video so that its long side is at most 200 times the short side.",
      },
    );
  }
  let resizedHeight = roundHalfEven(h / factor) * factor;
  let resizedWidth = roundHalfEven(w / factor) * factor;
  const tBar = roundHalfEven(numFrames / temporalFactor) * temporalFactor;
  if (tBar * resizedHeight * resizedWidth > maxPixels) {
    const beta = Math.sqrt((numFrames * h * w) / maxPixels);
    resizedHeight = Math.max(factor, Math.floor(h / beta / factor) * factor);
    resizedWidth = Math.max(factor, Math.floor(w / beta / factor) * factor);
  } else if (tBar * resizedHeight * resizedWidth < minPixels) {
    const beta = Math.sqrt(minPixels / (numFrames * h * w));
    resizedHeight = Math.ceil((h * beta) / factor) * factor;
    resizedWidth = Math.ceil((w * beta) / factor) * factor;
  }
  return { height: resizedHeight, width: resizedWidth };
}

/**
 * Per-group timestamps (transformers `_calculate_timestamps`): indices padded to a multiple of the temporal
 * patch by repeating the last, each `index / sourceFps`, each group the mean of its first and last frame.
 */
export function groupTimestamps(frameIndices: readonly number[], sourceFps: number, temporalPatchSize = 2): number[] {
  const padded = [...frameIndices];
  const last = padded[padded.length - 1];
  if (last === undefined) return [];
  while (padded.length % temporalPatchSize !== 0) padded.push(last);
  const seconds = padded.map((index) => index / sourceFps);
  const groups: number[] = [];
  for (let i = 0; i < seconds.length; i += temporalPatchSize) {
    groups.push((seconds[i] + seconds[i + temporalPatchSize - 1]) / 2);
  }
  return groups;
}

/**
 * Python's `"%.{digits}f" % value`: the exact binary value of the double, rounded half-to-even. JS `toFixed`
 * breaks exact ties upwards (0.25 -> "0.3"), Python gives "0.2"; every other case agrees, but this works from
 * the exact decimal expansion so it needs no such argument.
 */
export function formatFixedHalfEven(value: number, digits: number): string {
  if (!Number.isInteger(digits) || digits < 0 || digits > 100) {
    throw new SquintError("INVALID_ARGUMENT", `digits must be an integer in [0, 100], got ${digits}`);
  }
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  const negative = value < 0 || Object.is(value, -0);
  const { mantissa, exponent } = decomposeDouble(Math.abs(value));
  // |value| = mantissa · 2^exponent exactly; scale by 10^digits and round to an integer, ties to even.
  const scale = 10n ** BigInt(digits);
  let scaled: bigint;
  if (exponent >= 0) {
    scaled = (mantissa << BigInt(exponent)) * scale;
  } else {
    const numerator = mantissa * scale;
    const denominator = 1n << BigInt(-exponent);
    const quotient = numerator / denominator;
    const twiceRemainder = (numerator % denominator) * 2n;
    if (twiceRemainder > denominator || (twiceRemainder === denominator && quotient % 2n === 1n)) {
      scaled = quotient + 1n;
    } else {
      scaled = quotient;
    }
  }
  const text = scaled.toString().padStart(digits + 1, "0");
  const body = digits === 0 ? text : `${text.slice(0, text.length - digits)}.${text.slice(text.length - digits)}`;
  return negative ? `-${body}` : body;
}

function decomposeDouble(value: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  const fraction = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  if (biased === 0) return { mantissa: fraction, exponent: -1074 };
  return { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

/** Samples, decodes, resizes, normalises and patches a video given as its frames in order. */
export async function preprocessVideo(
  frames: readonly (RawImage | Uint8Array | string)[],
  options: VideoPreprocessOptions,
): Promise<PreprocessedVideo> {
  if (frames.length === 0) {
    throw new SquintError("INVALID_ARGUMENT", "A video needs at least one frame", {
      hint: "Pass the decoded frames of the video in order.",
    });
  }
  const config = resolvePreprocessOptions({
    ...options,
    minPixels: options.minPixels ?? DEFAULT_VIDEO_MIN_PIXELS,
    maxPixels: options.maxPixels ?? DEFAULT_VIDEO_MAX_PIXELS,
  });
  const frameIndices = sampleFrameIndices(frames.length, options);
  const decoded: RawImage[] = [];
  for (const index of frameIndices) {
    const frame = frames[index];
    decoded.push(isRawImage(frame) ? checkRawImage(frame) : await decodeImage(frame));
  }
  const first = decoded[0];
  for (const [position, frame] of decoded.entries()) {
    if (frame.width !== first.width || frame.height !== first.height) {
      throw new SquintError(
        "INVALID_ARGUMENT",
        `Video frame ${frameIndices[position]} is ${frame.width}×${frame.height}, but frame ${frameIndices[0]} is ${first.width}×${first.height}`,
        { hint: "All frames of a video must have the same size." },
      );
    }
  }
  const factor = config.patchSize * config.mergeSize;
  let maxPixels = config.maxPixels;
  if (options.capPixelsPerFrame) {
    const perFrame = Math.max(
      Math.min(768 * factor * factor, Math.floor(config.maxPixels / decoded.length)),
      Math.trunc(config.minPixels * 1.05),
    );
    maxPixels = perFrame * decoded.length;
  }
  const size = smartResizeVideo(decoded.length, first.height, first.width, {
    factor,
    temporalFactor: config.temporalPatchSize,
    minPixels: config.minPixels,
    maxPixels,
  });
  const resized: Uint8Array[] = [];
  for (const frame of decoded) resized.push((await resizeBicubic(frame, size.width, size.height)).data);
  const lastFrame = resized[resized.length - 1];
  while (resized.length % config.temporalPatchSize !== 0) resized.push(lastFrame);
  const { pixelValues, gridThw } = patchifyFrames(resized, size.width, size.height, config);
  const timestamps = groupTimestamps(frameIndices, options.sourceFps, config.temporalPatchSize).map((seconds) =>
    formatFixedHalfEven(seconds, 1),
  );
  return {
    pixelValues,
    gridThw,
    timestamps,
    tokensPerGroup: (gridThw[1] * gridThw[2]) / (config.mergeSize * config.mergeSize),
    frameIndices,
    width: size.width,
    height: size.height,
  };
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new SquintError("INVALID_ARGUMENT", `${name} must be a positive integer, got ${value}`, {
      hint: `Pass a whole number greater than zero for ${name}.`,
    });
  }
}

function requirePositiveNumber(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new SquintError("INVALID_ARGUMENT", `${name} must be a positive number, got ${value}`, {
      hint: `Pass a number greater than zero for ${name} (frames per second).`,
    });
  }
}
