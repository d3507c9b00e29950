import type { PixelBox } from "./types.js";

/**
 * Sorts boxes into reading order: rows top to bottom, left to right within a row. A box joins the current
 * row when its vertical centre falls inside the row's span, so a table's cells read across.
 */
export function readingOrder<T extends { box: PixelBox }>(items: T[]): T[] {
  const byTop = [...items].sort((a, b) => a.box.y1 + a.box.y2 - (b.box.y1 + b.box.y2));
  const rows: { y1: number; y2: number; items: T[] }[] = [];
  for (const item of byTop) {
    const centre = (item.box.y1 + item.box.y2) / 2;
    const row = rows[rows.length - 1];
    if (row !== undefined && centre >= row.y1 && centre <= row.y2) {
      row.items.push(item);
    } else {
      rows.push({ y1: item.box.y1, y2: item.box.y2, items: [item] });
    }
  }
  return rows.flatMap((row) => row.items.sort((a, b) => a.box.x1 - b.box.x1));
}
