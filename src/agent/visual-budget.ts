import type { ElidedImage } from "./events.js";
import { elisionRecord, type ImageEntry } from "./image-index.js";

/**
 * The visual-token budget, counted the way the model's processor counts (smart_resize of each image under the
 * model's pixel limits, one token per 32x32 px): not an image count. Over budget, older tool images are first
 * shrunk to `shrinkPixels`, then dropped (oldest first), each leaving a one-line record. User images always stay,
 * and the newest tool image is touched last because the model asked for it on the turn just before.
 */
export type VisualTokenCounter = (
  width: number,
  height: number,
  limits: { minPixels: number; maxPixels: number },
) => number;

export interface PixelLimits {
  minPixels: number;
  maxPixels: number;
}

export function entryTokens(entry: ImageEntry, limits: PixelLimits, count: VisualTokenCounter): number {
  if (entry.state === "elided") return 0;
  const maxPixels = entry.maxPixels === undefined ? limits.maxPixels : Math.min(limits.maxPixels, entry.maxPixels);
  return count(entry.width, entry.height, { minPixels: Math.min(limits.minPixels, maxPixels), maxPixels });
}

export function totalVisualTokens(entries: ImageEntry[], limits: PixelLimits, count: VisualTokenCounter): number {
  return entries.reduce((sum, entry) => sum + entryTokens(entry, limits, count), 0);
}

export interface VisualBudgetResult {
  entries: ImageEntry[];
  changes: ElidedImage[];
  total: number;
}

/** Brings the conversation's visual tokens under `limit` (when it can); returns the new entries and what changed. */
export function fitVisualBudget(
  entries: ImageEntry[],
  limit: number,
  limits: PixelLimits,
  count: VisualTokenCounter,
  shrinkPixels: number,
): VisualBudgetResult {
  const next = entries.map((entry) => ({ ...entry }));
  const changes = new Map<number, ElidedImage>();
  const total = () => totalVisualTokens(next, limits, count);
  const note = (entry: ImageEntry, action: ElidedImage["action"], before: number) => {
    const previous = changes.get(entry.index);
    changes.set(entry.index, {
      index: entry.index,
      action,
      record: elisionRecord(entry),
      tokensBefore: previous?.tokensBefore ?? before,
      tokensAfter: entryTokens(entry, limits, count),
    });
  };
  const toolImages = next.filter((entry) => entry.origin === "tool" && entry.state !== "elided");
  const newest = toolImages.at(-1);
  const older = toolImages.slice(0, -1);

  const shrink = (entry: ImageEntry) => {
    const before = entryTokens(entry, limits, count);
    const capped = { ...entry, state: "shrunk" as const, maxPixels: shrinkPixels };
    if (entryTokens(capped, limits, count) >= before) return;
    Object.assign(entry, capped);
    note(entry, "shrunk", before);
  };
  const drop = (entry: ImageEntry) => {
    const before = entryTokens(entry, limits, count);
    entry.state = "elided";
    delete entry.maxPixels;
    note(entry, "dropped", before);
  };

  for (const entry of older) {
    if (total() <= limit) break;
    shrink(entry);
  }
  for (const entry of older) {
    if (total() <= limit) break;
    drop(entry);
  }
  if (newest && total() > limit) shrink(newest);
  return { entries: next, changes: [...changes.values()].sort((a, b) => a.index - b.index), total: total() };
}
