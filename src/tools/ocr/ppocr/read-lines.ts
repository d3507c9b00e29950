import type { OcrImage } from "../types.js";
import type { PpOcrModel, RecognizedLine } from "./ppocr-model.js";

export interface PpOcrReadOptions {
  /** Long side (pixels) the detector sees. */
  detectionLongSide: number;
  /** Lines read with a lower mean character probability are dropped (PaddleOCR's drop_score). */
  minConfidence: number;
  /** Word break where two characters are this many median pitches apart (see ctcWords). */
  wordGapFactor: number;
  /** Lines per recogniser run. */
  batchSize: number;
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
  // Batching lines costs more CPU than it saves here: padding every line to the batch's widest line
  // (measured on the same set: 6.5 s of recogniser CPU one line at a time, 9 s in batches of 8).
  batchSize: 1,
};

/** Detects lines, reads them in batches, drops empty and unsure reads. */
export async function readLinesWithPpOcr(
  model: PpOcrModel,
  image: OcrImage,
  options: PpOcrReadOptions,
): Promise<RecognizedLine[]> {
  const boxes = await model.detect(image, options.detectionLongSide);
  options.signal?.throwIfAborted();
  const lines = await model.recognizeMany(
    image,
    boxes.map((b) => b.rect),
    {
      gapFactor: options.wordGapFactor,
      batchSize: options.batchSize,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  return lines.filter((line) => line.text.length > 0 && line.confidence >= options.minConfidence);
}
