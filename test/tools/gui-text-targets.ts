import { readFileSync } from "node:fs";
import { z } from "zod";
import { sharedRoot } from "../support/cli.js";

/**
 * Visible texts on the GUI screenshots of ../shared/data/gui, each with the box the page itself gave it: the
 * Midscene pages' DOM snapshot nodes (source dom_snapshot) and the Word window's OmniParser OCR entries. These
 * are the texts a "click the X" script asks locate for. Left out: labels that are not text you can see
 * ("(checkbox)", "New Todo Input"), texts of fewer than two letters or digits ("/", "K"), and paragraphs
 * that wrap over several lines (longer than 40 letters and digits, or with a line break), which no single
 * OCR line holds. A text shown several times on one page ("选规格" on every row) is one target that any of
 * its boxes answers: a query by text alone cannot say which one was meant.
 */
export interface GuiTextTarget {
  file: string;
  label: string;
  rects: { x1: number; y1: number; x2: number; y2: number }[];
}

const entry = z.object({
  file: z.string(),
  truth: z.object({
    boxes: z
      .array(
        z.object({
          label: z.string(),
          source: z.string().optional(),
          x1: z.number(),
          y1: z.number(),
          x2: z.number(),
          y2: z.number(),
        }),
      )
      .optional(),
  }),
});

const NOT_VISIBLE_TEXT = new Set(["(checkbox)", "New Todo Input"]);
const letters = (s: string) => s.normalize("NFKC").replace(/[^\p{L}\p{N}]+/gu, "");

export function loadGuiTextTargets(): GuiTextTarget[] {
  const manifest = z.array(z.unknown()).parse(JSON.parse(readFileSync(`${sharedRoot}data/MANIFEST.json`, "utf8")));
  const targets: GuiTextTarget[] = [];
  for (const raw of manifest) {
    const parsed = entry.safeParse(raw);
    if (!parsed.success || !parsed.data.file.startsWith("gui/")) continue;
    for (const box of parsed.data.truth.boxes ?? []) {
      const source = box.source ?? "";
      if (!source.startsWith("dom_snapshot") && !source.includes("(OCR)")) continue;
      const n = letters(box.label).length;
      if (NOT_VISIBLE_TEXT.has(box.label) || box.label.includes("\n") || n < 2 || n > 40) continue;
      const rect = { x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2 };
      const same = targets.find((t) => t.file === parsed.data.file && t.label === box.label);
      if (same) same.rects.push(rect);
      else targets.push({ file: parsed.data.file, label: box.label, rects: [rect] });
    }
  }
  return targets;
}

/** A hit: the first match's centre lies in one of the text's boxes, give or take `tolerance` pixels (a click lands). */
export function isHit(target: GuiTextTarget, center: readonly [number, number] | undefined, tolerance = 8): boolean {
  if (center === undefined) return false;
  const [x, y] = center;
  return target.rects.some(
    ({ x1, y1, x2, y2 }) => x >= x1 - tolerance && x <= x2 + tolerance && y >= y1 - tolerance && y <= y2 + tolerance,
  );
}
