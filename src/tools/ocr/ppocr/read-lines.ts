import type { OcrImage } from "../types.js";
import type { PpOcrModel, RecognizedLine } from "./ppocr-model.js";

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
  /** Lines per recogniser run. */
  batchSize: number;
  signal?: AbortSignal;
}

/**
 * Measured with bench/ocr/explore.ts on ../shared/data/ocr: detection at the image's own size clamped to
 * [960, 2048] reads as well as a fixed 960 there, and much better on screenshots (a 1919 px Word window:
 * 48 of 52 ribbon words against 36 at 960). A gap factor of 1.6 splits "DATE12/30/2016FRI" without
 * splitting any word of the clean pages (documents 88.2% -> 92.2%).
 */
export const defaultPpOcrReadOptions: PpOcrReadOptions = {
  detectionMinSide: 960,
  detectionMaxSide: 2048,
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
  const longSide = Math.min(options.detectionMaxSide, Math.max(options.detectionMinSide, image.width, image.height));
  const boxes = await model.detect(image, longSide);
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
