import { minAreaRect, type Point, type RotatedRect, rectContains } from "../rotated-rect.js";

/**
 * Differentiable-binarisation (DB) post-processing for the PP-OCR detector: its output is a per-pixel
 * probability of "inside a shrunk text region". Threshold it, take each connected region, fit the
 * smallest rotated rectangle, keep it when the mean probability inside is high enough, then grow it back
 * by the amount the training labels were shrunk (the "unclip": offset = area * ratio / perimeter).
 */
export interface DbParams {
  /** Pixel threshold on the probability map. PaddleOCR's default 0.3. */
  binaryThreshold: number;
  /** Minimum mean probability inside a box. PaddleOCR's default 0.6. */
  boxThreshold: number;
  /** Growth ratio for the unclip. PP-OCRv4 uses 1.5. */
  unclipRatio: number;
  /** Boxes with a shorter side below this (map pixels) are noise. */
  minSide: number;
  /** At most this many regions per map (largest first). */
  maxBoxes: number;
}

export const defaultDbParams: DbParams = {
  binaryThreshold: 0.3,
  boxThreshold: 0.6,
  unclipRatio: 1.5,
  minSide: 3,
  maxBoxes: 1000,
};

export interface DetectedBox {
  rect: RotatedRect;
  score: number;
}

/** Labels 8-connected regions of `map > threshold`; returns, per region, each row's leftmost and rightmost pixel. */
function regionOutlines(map: Float32Array, width: number, height: number, threshold: number): Point[][] {
  const labels = new Int32Array(width * height);
  const outlines: Point[][] = [];
  const stack: number[] = [];
  for (let start = 0; start < map.length; start++) {
    if (labels[start] !== 0 || map[start] <= threshold) continue;
    const label = outlines.length + 1;
    const rowMin = new Map<number, number>();
    const rowMax = new Map<number, number>();
    labels[start] = label;
    stack.push(start);
    while (stack.length > 0) {
      const index = stack.pop()!;
      const x = index % width;
      const y = (index - x) / width;
      const lo = rowMin.get(y);
      if (lo === undefined || x < lo) rowMin.set(y, x);
      const hi = rowMax.get(y);
      if (hi === undefined || x > hi) rowMax.set(y, x);
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const n = ny * width + nx;
          if (labels[n] === 0 && map[n] > threshold) {
            labels[n] = label;
            stack.push(n);
          }
        }
      }
    }
    // Pixel corners, not centres: a one-pixel-wide region still has width 1.
    const points: Point[] = [];
    for (const [y, x] of rowMin) {
      const xr = rowMax.get(y)! + 1;
      points.push({ x, y }, { x, y: y + 1 }, { x: xr, y }, { x: xr, y: y + 1 });
    }
    outlines.push(points);
  }
  return outlines;
}

/** Mean of the map inside a rectangle (in map pixels), sampled at pixel centres. */
function meanInside(map: Float32Array, width: number, height: number, rect: RotatedRect): number {
  const reach = (Math.abs(rect.ux) * rect.width + Math.abs(rect.uy) * rect.height) / 2;
  const reachY = (Math.abs(rect.uy) * rect.width + Math.abs(rect.ux) * rect.height) / 2;
  const x0 = Math.max(0, Math.floor(rect.cx - reach));
  const x1 = Math.min(width - 1, Math.ceil(rect.cx + reach));
  const y0 = Math.max(0, Math.floor(rect.cy - reachY));
  const y1 = Math.min(height - 1, Math.ceil(rect.cy + reachY));
  let sum = 0;
  let count = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (rectContains(rect, x + 0.5, y + 0.5)) {
        sum += map[y * width + x];
        count++;
      }
    }
  }
  return count === 0 ? 0 : sum / count;
}

export function unclip(rect: RotatedRect, ratio: number): RotatedRect {
  const distance = (rect.width * rect.height * ratio) / (2 * (rect.width + rect.height));
  return { ...rect, width: rect.width + 2 * distance, height: rect.height + 2 * distance };
}

/** Text boxes in map pixels. */
export function dbBoxes(
  map: Float32Array,
  width: number,
  height: number,
  params: DbParams = defaultDbParams,
): DetectedBox[] {
  const outlines = regionOutlines(map, width, height, params.binaryThreshold)
    .sort((a, b) => b.length - a.length)
    .slice(0, params.maxBoxes);
  const boxes: DetectedBox[] = [];
  for (const outline of outlines) {
    const rect = minAreaRect(outline);
    if (Math.min(rect.width, rect.height) < params.minSide) continue;
    const score = meanInside(map, width, height, rect);
    if (score < params.boxThreshold) continue;
    const grown = unclip(rect, params.unclipRatio);
    if (Math.min(grown.width, grown.height) < params.minSide + 2) continue;
    boxes.push({ rect: grown, score });
  }
  return boxes;
}
