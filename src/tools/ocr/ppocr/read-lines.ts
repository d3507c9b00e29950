import type { RotatedRect } from "../rotated-rect.js";
import type { OcrImage } from "../types.js";
import type { PpOcrModel, RecognizedLine } from "./ppocr-model.js";
import type { ScriptOption } from "./script-filter.js";

export interface PpOcrReadOptions {
  /**
   * The detector sees the image with its long side at its own size, clamped to [min, max]: small images
   * are enlarged (small text needs about 10 px to be found), huge ones shrunk (time grows with area).
   */
  detectionMinSide: number;
  detectionMaxSide: number;
  /** Lines read with a lower mean character probability are dropped (PaddleOCR's drop_score). */
  minConfidence: number;
  /** Word break where two characters are this many median pitches apart (see ctcWords). */
  wordGapFactor: number;
  /** A space where P(space) between two characters reaches this (see insertSpaces); 1 = only emitted spaces. */
  minSpaceProbability: number;
  /** Weak space evidence counts only between characters this many median pitches apart... */
  spacePitchRatio: number;
  /** ...unless P(space) reaches this. */
  sureSpaceProbability: number;
  /** Which characters a line may be read with (see script-filter.ts). */
  script: ScriptOption;
  /** Fix 0/O inside the words of Latin lines ("L0T" → "LOT"; see letter-digit-context.ts). */
  fixLetterDigit: boolean;
  /** Read every line the other way round when most lines are upside down (orientation classifier). */
  fixUpsideDown: boolean;
  /** Lines per recogniser run. */
  batchSize: number;
  signal?: AbortSignal;
}

/**
 * Measured with bench/ocr/explore.ts on ../shared/data/ocr: detection at the image's own size clamped to
 * [960, 2048] reads as well as a fixed 960 there, and much better on screenshots (a 1919 px Word window:
 * 48 of 52 ribbon words against 36 at 960). Word gap factor 2 splits the receipt's "DATE12/30/2016FRI"
 * and splits no word of the clean pages (1.6 scored higher with joined truth words but cut "jumps!" into
 * "ju mps!"; documents: no split 88.2%, 2.0 89.9%; exact words only 81.8% and 82.4%).
 */
export const defaultPpOcrReadOptions: PpOcrReadOptions = {
  detectionMinSide: 960,
  detectionMaxSide: 2048,
  minConfidence: 0.5,
  wordGapFactor: 2,
  // Chosen on the rendered tune set only (bench/ocr/_tune-decoding.ts, strict word recall documents / scene):
  // 0.005 alone 98.0% / 95.3%; 0.005 with pitch 1.2 or P >= 0.05: 98.3% / 97.7%; 0.01 alone 98.4% / 93.0%;
  // no space evidence 51.5% / 51.2%. Judged on the judge set by bench/ocr/unseen-text.ts. (Those scene
  // numbers are from the first, flat scene renders; the scene group has since been made camera-like.)
  minSpaceProbability: 0.005,
  spacePitchRatio: 1.2,
  sureSpaceProbability: 0.05,
  script: "auto",
  fixLetterDigit: true,
  // Batching lines costs more CPU than it saves here: padding every line to the batch's widest line
  // (measured on the same set: 6.5 s of recogniser CPU one line at a time, 9 s in batches of 8).
  batchSize: 1,
  fixUpsideDown: true,
};

/**
 * Whether an image looks upside down: most of the lines the orientation classifier is sure about
 * (P > 0.9 either way, PaddleOCR's cls_thresh) are flipped. Per line it is wrong now and then on short
 * lines ("(06)" taken for upside down cost a word on ICDAR img1), so the decision is for the whole image.
 */
export function upsideDownByMajority(probabilities: number[] | undefined, sure = 0.9): boolean {
  if (probabilities === undefined) return false;
  const flipped = probabilities.filter((p) => p > sure).length;
  const upright = probabilities.filter((p) => p < 1 - sure).length;
  return flipped > upright;
}

function meanConfidence(lines: RecognizedLine[]): number {
  const read = lines.filter((line) => line.text.length > 0);
  return read.length === 0 ? 0 : read.reduce((sum, line) => sum + line.confidence, 0) / read.length;
}

/** Detects lines, reads them in batches, drops empty and unsure reads. */
export async function readLinesWithPpOcr(
  model: PpOcrModel,
  image: OcrImage,
  options: PpOcrReadOptions,
): Promise<RecognizedLine[]> {
  const longSide = Math.min(options.detectionMaxSide, Math.max(options.detectionMinSide, image.width, image.height));
  const boxes = await model.detect(image, longSide);
  options.signal?.throwIfAborted();
  const rects = boxes.map((b) => b.rect);
  const read = (which: RotatedRect[]) =>
    model.recognizeMany(image, which, {
      decode: {
        gapFactor: options.wordGapFactor,
        minSpaceProbability: options.minSpaceProbability,
        spacePitchRatio: options.spacePitchRatio,
        sureSpaceProbability: options.sureSpaceProbability,
        script: options.script,
        fixLetterDigit: options.fixLetterDigit,
      },
      batchSize: options.batchSize,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  let lines = await read(rects);
  if (options.fixUpsideDown && upsideDownByMajority(await model.upsideDown(image, rects))) {
    // Same rectangles read the other way round (the sampler turns each strip upright). The classifier
    // alone is not trusted: on ICDAR img1 it called a blurry upright sign upside down, so the turned
    // reading must also be the more confident one.
    const turned = await read(rects.map((r) => ({ ...r, ux: -r.ux, uy: -r.uy })));
    if (meanConfidence(turned) > meanConfidence(lines)) lines = turned;
  }
  return lines.filter((line) => line.text.length > 0 && line.confidence >= options.minConfidence);
}
