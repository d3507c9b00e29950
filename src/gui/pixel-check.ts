import type { RawImage } from "../model/vision.js";
import { type Box, boxHeight, boxWidth, clampBox, pixelRect, type Size } from "../tools/geometry.js";
import { boxToScreenshot, type Capture } from "./capture.js";

/**
 * Two pixel questions the GUI helper asks: does this region still look like it did (a cached target
 * replayed on a screen without a document), and did the screen change after an action.
 */

/** A region's look: mean grey per cell of a grid of about 4×4 logical pixels, so it compares across scales. */
export interface Fingerprint {
  cols: number;
  rows: number;
  cells: number[];
}

/** Around a target, this much of its surroundings (logical pixels) belongs to its look. */
const FINGERPRINT_MARGIN = 4;
const FINGERPRINT_CELL = 4;
const FINGERPRINT_MAX_CELLS_PER_SIDE = 48;

/** Two looks match when no cell differs by more than this (0–255 grey)… */
export const FINGERPRINT_MAX_CELL_DIFF = 48;
/** …and the mean difference stays under this. */
export const FINGERPRINT_MAX_MEAN_DIFF = 10;

function channelsOf(image: RawImage): number {
  return Math.round(image.data.length / (image.width * image.height));
}

function grey(image: RawImage, channels: number, x: number, y: number): number {
  const at = (y * image.width + x) * channels;
  if (channels < 3) return image.data[at]!;
  return 0.299 * image.data[at]! + 0.587 * image.data[at + 1]! + 0.114 * image.data[at + 2]!;
}

/** The logical region around `box` that a fingerprint covers. */
export function fingerprintRegion(box: Box, viewport: Size): Box {
  const m = FINGERPRINT_MARGIN;
  return clampBox({ x1: box.x1 - m, y1: box.y1 - m, x2: box.x2 + m, y2: box.y2 + m }, viewport);
}

export function fingerprint(shot: Capture, pixels: RawImage, box: Box): Fingerprint {
  const region = fingerprintRegion(box, shot.viewport);
  const cols = cellCount(boxWidth(region));
  const rows = cellCount(boxHeight(region));
  const rect = pixelRect(boxToScreenshot(shot, region), pixels);
  const channels = channelsOf(pixels);
  const cells: number[] = [];
  for (let row = 0; row < rows; row++) {
    const y0 = rect.top + Math.floor((row * rect.height) / rows);
    const y1 = Math.max(y0 + 1, rect.top + Math.floor(((row + 1) * rect.height) / rows));
    for (let col = 0; col < cols; col++) {
      const x0 = rect.left + Math.floor((col * rect.width) / cols);
      const x1 = Math.max(x0 + 1, rect.left + Math.floor(((col + 1) * rect.width) / cols));
      let sum = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += grey(pixels, channels, x, y);
      cells.push(Math.round(sum / ((x1 - x0) * (y1 - y0))));
    }
  }
  return { cols, rows, cells };
}

function cellCount(side: number): number {
  return Math.min(FINGERPRINT_MAX_CELLS_PER_SIDE, Math.max(2, Math.round(side / FINGERPRINT_CELL)));
}

export interface FingerprintComparison {
  match: boolean;
  meanDiff: number;
  maxDiff: number;
}

export function compareFingerprints(stored: Fingerprint, now: Fingerprint): FingerprintComparison {
  if (stored.cols !== now.cols || stored.rows !== now.rows || stored.cells.length !== now.cells.length) {
    return { match: false, meanDiff: 255, maxDiff: 255 };
  }
  let sum = 0;
  let max = 0;
  for (let i = 0; i < stored.cells.length; i++) {
    const diff = Math.abs(stored.cells[i]! - now.cells[i]!);
    sum += diff;
    max = Math.max(max, diff);
  }
  const meanDiff = sum / stored.cells.length;
  return {
    match: max <= FINGERPRINT_MAX_CELL_DIFF && meanDiff <= FINGERPRINT_MAX_MEAN_DIFF,
    meanDiff: Math.round(meanDiff * 10) / 10,
    maxDiff: max,
  };
}

/** The largest per-channel difference at (x, y): a colour change of equal brightness still counts. */
function pixelDistance(a: RawImage, ca: number, b: RawImage, cb: number, x: number, y: number): number {
  if (ca !== cb || ca < 3) return Math.abs(grey(a, ca, x, y) - grey(b, cb, x, y));
  const at = (y * a.width + x) * ca;
  let max = 0;
  for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(a.data[at + c]! - b.data[at + c]!));
  return max;
}

/** A pixel counts as changed when a channel moved by more than this. */
const CHANGE_PIXEL_THRESHOLD = 24;
/** A region changed when at least this many pixels did (a typed character changes dozens). */
const CHANGE_MIN_PIXELS = 4;

export interface ChangeReport {
  changed: boolean;
  /** Changed pixels in the compared region (screenshot pixels). */
  changedPixels: number;
}

/** Whether the screen changed between two captures, within `box` (logical pixels) or anywhere. */
export function screenChanged(
  before: { shot: Capture; pixels: RawImage },
  after: { shot: Capture; pixels: RawImage },
  box?: Box,
): ChangeReport {
  const a = before.pixels;
  const b = after.pixels;
  if (a.width !== b.width || a.height !== b.height) return { changed: true, changedPixels: b.width * b.height };
  const rect = box
    ? pixelRect(boxToScreenshot(after.shot, clampBox(box, after.shot.viewport)), b)
    : { left: 0, top: 0, width: b.width, height: b.height };
  const ca = channelsOf(a);
  const cb = channelsOf(b);
  let changedPixels = 0;
  for (let y = rect.top; y < rect.top + rect.height; y++) {
    for (let x = rect.left; x < rect.left + rect.width; x++) {
      if (pixelDistance(a, ca, b, cb, x, y) > CHANGE_PIXEL_THRESHOLD) changedPixels++;
    }
  }
  return { changed: changedPixels >= CHANGE_MIN_PIXELS, changedPixels };
}
