import type { OcrImage } from "../types.js";
import type { PpOcrModel, RecognizedLine } from "./ppocr-model.js";

export interface PpOcrReadOptions {
  /** Long side (pixels) the detector sees. */
  detectionLongSide: number;
  /** Lines read with a lower mean character probability are dropped (PaddleOCR's drop_score). */
  minConfidence: number;
  /** Word break where two characters are this many median pitches apart (see ctcWords). */
  wordGapFactor: number;
  signal?: AbortSignal;
}

/**
 * Measured on ../shared/data/ocr (bench/ocr/explore.ts): long side 960 reads both the small receipt and
 * the 1600 px one best; a gap factor of 1.6 splits "DATE12/30/2016FRI" without splitting any word of the
 * clean pages.
 */
export const defaultPpOcrReadOptions: PpOcrReadOptions = {
  detectionLongSide: 960,
  minConfidence: 0.5,
  wordGapFactor: 1.6,
};

/** Detects lines, reads each one. */
export async function readLinesWithPpOcr(
  model: PpOcrModel,
  image: OcrImage,
  options: PpOcrReadOptions,
): Promise<RecognizedLine[]> {
  const boxes = await model.detect(image, options.detectionLongSide);
  const lines: RecognizedLine[] = [];
  for (const box of boxes) {
    options.signal?.throwIfAborted();
    const line = await model.recognize(image, box.rect, options.wordGapFactor);
    if (line.text.length > 0 && line.confidence >= options.minConfidence) lines.push(line);
  }
  return lines;
}
