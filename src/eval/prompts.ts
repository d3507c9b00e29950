import { createHash } from "node:crypto";
import type { SuiteItem, TruthType } from "./suite.js";

/**
 * How an item becomes the text the model is asked, per truth kind. The instructions follow the conventions the
 * benchmark harnesses use (a letter for options, a short phrase for open questions, Qwen3-VL's own JSON for
 * boxes and points) so the answer can be read without a judge model. The templates are part of the pinned
 * knobs: their hash goes into every report, and two reports with different hashes are not comparable.
 */
export const PROMPT_TEMPLATES: Readonly<Record<TruthType, string>> = Object.freeze({
  choice: "{question}\n{options}\nAnswer with the option's letter from the given choices directly.",
  text: "{question}\nAnswer the question using a single word or phrase.",
  box:
    '{question}\nAnswer with its bounding box as JSON: {"bbox_2d": [x1, y1, x2, y2], "img_idx": {image}}, ' +
    "in 0-1000 coordinates relative to image {image} (give another img_idx if you answer on a zoomed image).",
  point:
    '{question}\nAnswer with the point to click as JSON: {"point_2d": [x, y], "img_idx": {image}}, ' +
    "in 0-1000 coordinates relative to image {image} (give another img_idx if you answer on a zoomed image).",
  words: "{question}\nWrite out all the text you can read, in reading order.",
});

/** The letter of option `index` (A for 0). */
export function optionLetter(index: number): string {
  return String.fromCharCode(65 + index);
}

export function renderItemPrompt(item: SuiteItem): string {
  const truth = item.truth;
  const image = truth.type === "box" || truth.type === "point" ? String(truth.image) : "0";
  const options = (item.options ?? []).map((option, index) => `${optionLetter(index)}. ${option}`).join("\n");
  return PROMPT_TEMPLATES[truth.type]
    .replaceAll("{question}", item.question)
    .replaceAll("{options}", options)
    .replaceAll("{image}", image);
}

/** sha256 (first 16 hex digits) over the item templates and the loop's system prompt. */
export function promptTemplateHash(systemPrompt: string | null): string {
  const hash = createHash("sha256");
  for (const type of Object.keys(PROMPT_TEMPLATES).sort() as TruthType[]) {
    hash.update(type).update("\0").update(PROMPT_TEMPLATES[type]).update("\0");
  }
  hash.update("system\0").update(systemPrompt ?? "");
  return hash.digest("hex").slice(0, 16);
}
