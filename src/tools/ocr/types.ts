/**
 * What OCR returns. Boxes come twice: in pixels of the image that was read (`box`) and in Qwen3-VL's
 * 0-1000 units relative to that image (`boxRel1000`), so a caller can hand either to the model or to
 * geometry without converting. Confidences are 0-1.
 */
export interface PixelBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** [x1, y1, x2, y2] in 0-1000 of the image's width and height (integers, Qwen3-VL's bbox_2d). */
export type Rel1000Box = [number, number, number, number];

export interface OcrChar {
  text: string;
  /** Where the recogniser placed the character (its slice of the line), in pixels. */
  box: PixelBox;
}

export interface OcrWord {
  text: string;
  confidence: number;
  box: PixelBox;
  boxRel1000: Rel1000Box;
  /** The word's characters with their boxes, where the engine knows them (the built-in one does). */
  chars?: OcrChar[] | undefined;
}

/** Which characters a line was read with: `latin` (Chinese ones ruled out) or `chinese` (the whole dictionary). */
export type OcrScript = "latin" | "chinese";
/** What a caller may ask for: one script for every line, or `auto` (per line). */
export type OcrScriptOption = "auto" | OcrScript;

export interface OcrLine {
  text: string;
  confidence: number;
  box: PixelBox;
  boxRel1000: Rel1000Box;
  words: OcrWord[];
  /**
   * Which recogniser read this line. The built-in engine is always "ppocr"; "tesseract" is kept for
   * results that come from elsewhere (callers may pass their own OCR function to the tools).
   */
  engine: OcrEngineName;
  /** The built-in engine says which characters it allowed for this line (see `script` in the ocr tool). */
  script?: OcrScript | undefined;
}

export interface OcrResult {
  width: number;
  height: number;
  lines: OcrLine[];
}

export type OcrEngineName = "ppocr" | "tesseract";

/**
 * Decoded pixels, structurally the same as the image store's raw image: interleaved 8-bit channels,
 * row-major. 1 (grey), 3 (RGB) or 4 (RGBA) channels.
 */
export interface OcrImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}
