import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { sharedRoot } from "../../support/cli.js";
import { truthWords } from "../../../src/tools/ocr/word-recall.js";

/**
 * The OCR images of ../shared/data whose manifest states their text, split into the two groups the goals
 * are set for. Documents: printed or rendered pages and receipts (flat paper, dense lines): the Tesseract
 * test pages, the bank statement, the two WildReceipt receipts. Scene text: photos of signs and posters
 * in the world (ICDAR 2015 incidental text, the EasyOCR street sign). The two ChartQA charts state only
 * question/answer pairs, not their text, so they carry no recall.
 */
export type OcrGroup = "document" | "scene";

export const ocrGroups: Record<string, OcrGroup> = {
  "ocr/tesseract-eurotext.png": "document",
  "ocr/tesseractjs-testocr.png": "document",
  "ocr/tesseractjs-bank-statement.png": "document",
  "ocr/wildreceipt-choeun-restaurant-receipt.jpg": "document",
  "ocr/wildreceipt-safeway-receipt.jpg": "document",
  "ocr/icdar15-img1-theatre-carpark-sign.jpg": "scene",
  "ocr/icdar15-img8-why-pay-for-nothing.jpg": "scene",
  "ocr/icdar15-img9-exit-stage.jpg": "scene",
  "ocr/icdar15-img10-mrt-harbourfront.jpg": "scene",
  "ocr/easyocr-street-sign-yuyuan-rd.jpg": "scene",
};

const manifestEntry = z.object({
  file: z.string(),
  width: z.number(),
  height: z.number(),
  truth: z
    .object({
      text: z.string().optional(),
      boxes: z.array(z.object({ label: z.string() })).optional(),
    })
    .optional(),
});

export interface OcrTruthImage {
  file: string;
  path: string;
  group: OcrGroup;
  width: number;
  height: number;
  words: string[];
}

export const dataRoot = `${sharedRoot}data/`;

export function sharedDataPresent(): boolean {
  return existsSync(`${dataRoot}MANIFEST.json`);
}

/** Truth words: `truth.text` where the source gives it, else the box labels (one word or phrase each). */
export function loadOcrTruth(): OcrTruthImage[] {
  const manifest = z.array(manifestEntry).parse(JSON.parse(readFileSync(`${dataRoot}MANIFEST.json`, "utf8")));
  const images: OcrTruthImage[] = [];
  for (const entry of manifest) {
    const group = ocrGroups[entry.file];
    if (group === undefined) continue;
    const text = entry.truth?.text ?? (entry.truth?.boxes ?? []).map((b) => b.label).join("\n");
    images.push({
      file: entry.file,
      path: `${dataRoot}${entry.file}`,
      group,
      width: entry.width,
      height: entry.height,
      words: truthWords(text),
    });
  }
  return images;
}
