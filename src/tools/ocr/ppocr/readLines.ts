import type { OcrImage } from "../types.js";
import type { PpOcrModel, RecognizedLine } from "./ppocrModel.js";

export interface PpOcrReadOptions {
  /** Long side (pixels) the detector sees. */
  detectionLongSide: number;
  /** Lines read with a lower mean character probability are dropped (PaddleOCR's drop_score). */
  minConfidence: number;
  signal?: AbortSignal;
}

/** Detects lines, reads each one. */
export async function readLinesWithPpOcr(model: PpOcrModel, image: OcrImage, options: PpOcrReadOptions): Promise<RecognizedLine[]> {
  const boxes = await model.detect(image, options.detectionLongSide);
  const lines: RecognizedLine[] = [];
  for (const box of boxes) {
    options.signal?.throwIfAborted();
    const line = await model.recognize(image, box.rect);
    if (line.text.length > 0 && line.confidence >= options.minConfidence) lines.push(line);
  }
  return lines;
}
