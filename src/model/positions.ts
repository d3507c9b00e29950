import { SquintError } from "../errors.js";

/**
 * Three-row (T, H, W) position ids for the Qwen3-VL decoder (transformers `Qwen3VLModel.get_rope_index`,
 * spec §4.2). Text advances all three rows together; a visual block holds T fixed and walks H/W over its
 * merged token grid; the text after a block resumes at the block's largest position + 1, so a sequence with
 * images ends below its length and decoding continues at `cacheLength + ropeDelta`.
 */

export type GridThw = readonly [number, number, number];

export interface RopePositionOptions {
  /** `image_grid_thw` rows in patch units, one per image, in prompt order. */
  imageGrids?: readonly GridThw[];
  /** `video_grid_thw` rows in patch units, one per video, in prompt order (t = number of 2-frame groups). */
  videoGrids?: readonly GridThw[];
  imageTokenId: number;
  videoTokenId: number;
  visionStartTokenId: number;
  spatialMergeSize?: number;
}

export interface RopePositions {
  /** Rows T, H, W, each as long as the sequence. */
  positions: [Int32Array, Int32Array, Int32Array];
  /** `max position + 1 − sequence length`: zero for text, negative once images are in. */
  ropeDelta: number;
}

export function ropePositions(inputIds: ArrayLike<number>, options: RopePositionOptions): RopePositions {
  const merge = options.spatialMergeSize ?? 2;
  if (!Number.isInteger(merge) || merge <= 0) {
    throw new SquintError("INVALID_ARGUMENT", `spatialMergeSize must be a positive integer, got ${merge}`);
  }
  const length = inputIds.length;
  const rowT = new Int32Array(length);
  const rowH = new Int32Array(length);
  const rowW = new Int32Array(length);
  // Each 2-frame group of a video is its own block (own timestamp, own vision_start/end), so a video
  // grid (t, h, w) is used as t grids of (1, h, w).
  const videoGroups: GridThw[] = [];
  for (const grid of options.videoGrids ?? []) {
    checkGrid("video", grid, merge);
    for (let t = 0; t < grid[0]; t++) videoGroups.push([1, grid[1], grid[2]]);
  }
  const imageGrids = options.imageGrids ?? [];
  for (const grid of imageGrids) checkGrid("image", grid, merge);

  // As in transformers, the blocks are counted by the token right after each <|vision_start|>.
  let imageBlocks = 0;
  let videoBlocks = 0;
  for (let i = 0; i + 1 < length; i++) {
    if (inputIds[i] !== options.visionStartTokenId) continue;
    if (inputIds[i + 1] === options.imageTokenId) imageBlocks++;
    else if (inputIds[i + 1] === options.videoTokenId) videoBlocks++;
  }
  if (imageBlocks !== imageGrids.length || videoBlocks !== videoGroups.length) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `The prompt has ${imageBlocks} image and ${videoBlocks} video-group blocks, but ${imageGrids.length} image grids and ${videoGroups.length} video groups were given`,
      {
        hint: "Pass one grid per image (and per video) in prompt order, and expand each placeholder to its token count.",
        details: { imageBlocks, videoBlocks, imageGrids: imageGrids.length, videoGroups: videoGroups.length },
      },
    );
  }

  let cursor = 0;
  let next = 0;
  let imageIndex = 0;
  let videoIndex = 0;
  for (let block = 0; block < imageBlocks + videoBlocks; block++) {
    const imageAt = imageIndex < imageGrids.length ? indexOf(inputIds, options.imageTokenId, cursor) : -1;
    const videoAt = videoIndex < videoGroups.length ? indexOf(inputIds, options.videoTokenId, cursor) : -1;
    const useImage = imageAt >= 0 && (videoAt < 0 || imageAt < videoAt);
    const start = useImage ? imageAt : videoAt;
    if (start < 0) {
      throw new SquintError("INVALID_ARGUMENT", "A vision block has no pad tokens after its <|vision_start|>", {
        hint: "Expand each image/video placeholder to its token count before computing positions.",
      });
    }
    const grid = useImage ? imageGrids[imageIndex++] : videoGroups[videoIndex++];
    const padId = useImage ? options.imageTokenId : options.videoTokenId;
    const gridT = grid[0];
    const gridH = grid[1] / merge;
    const gridW = grid[2] / merge;
    const tokens = gridT * gridH * gridW;
    for (let i = start; i < start + tokens; i++) {
      if (i >= length || inputIds[i] !== padId) {
        throw new SquintError(
          "INVALID_ARGUMENT",
          `A ${useImage ? "image" : "video"} block at token ${start} should have ${tokens} pad tokens for grid [${grid.join(", ")}], but has fewer`,
          { hint: "Expand each placeholder to t·h·w/4 pad tokens, with grids in prompt order." },
        );
      }
    }
    for (let i = cursor; i < start; i++) {
      rowT[i] = rowH[i] = rowW[i] = next + (i - cursor);
    }
    const base = next + (start - cursor);
    let i = start;
    for (let t = 0; t < gridT; t++) {
      for (let h = 0; h < gridH; h++) {
        for (let w = 0; w < gridW; w++) {
          rowT[i] = base + t;
          rowH[i] = base + h;
          rowW[i] = base + w;
          i++;
        }
      }
    }
    next = base + Math.max(gridT, gridH, gridW);
    cursor = start + tokens;
  }
  for (let i = cursor; i < length; i++) rowT[i] = rowH[i] = rowW[i] = next + (i - cursor);
  // The largest position is the last one written: text runs count up from the block maximum + 1.
  const maxPosition = length === 0 ? -1 : next + (length - cursor) - 1;
  return { positions: [rowT, rowH, rowW], ropeDelta: maxPosition + 1 - length };
}

/**
 * Positions for `count` generated tokens after a cache of `cacheLength` tokens: `cacheLength + ropeDelta + k`
 * on all three rows (transformers `Qwen3VLModel.forward` during decoding).
 */
export function decodePositions(
  cacheLength: number,
  ropeDelta: number,
  count = 1,
): [Int32Array, Int32Array, Int32Array] {
  if (
    !Number.isInteger(cacheLength) ||
    cacheLength < 0 ||
    !Number.isInteger(ropeDelta) ||
    !Number.isInteger(count) ||
    count < 0
  ) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `decodePositions needs integers (cacheLength ${cacheLength}, ropeDelta ${ropeDelta}, count ${count})`,
    );
  }
  const row = new Int32Array(count);
  for (let k = 0; k < count; k++) row[k] = cacheLength + ropeDelta + k;
  return [row, row.slice(), row.slice()];
}

/** The `[3, 1, S]` int64 tensor data ONNX Runtime takes as `position_ids`. */
export function positionIdsInt64(
  positions: readonly [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>],
): BigInt64Array {
  const length = positions[0].length;
  const out = new BigInt64Array(3 * length);
  for (let row = 0; row < 3; row++) {
    const source = positions[row];
    if (source.length !== length) {
      throw new SquintError("INVALID_ARGUMENT", "The three position rows must have the same length");
    }
    for (let i = 0; i < length; i++) out[row * length + i] = BigInt(source[i]);
  }
  return out;
}

function checkGrid(kind: string, grid: GridThw, merge: number): void {
  const [t, h, w] = grid;
  if (![t, h, w].every((value) => Number.isInteger(value) && value > 0) || h % merge !== 0 || w % merge !== 0) {
    throw new SquintError("INVALID_ARGUMENT", `Invalid ${kind} grid [${grid.join(", ")}]`, {
      hint: `Grids are [t, h, w] in patch units with h and w multiples of ${merge}, as preprocessing returns them.`,
    });
  }
}

function indexOf(ids: ArrayLike<number>, value: number, from: number): number {
  for (let i = from; i < ids.length; i++) if (ids[i] === value) return i;
  return -1;
}
