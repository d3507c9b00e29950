import { describe, expect, it } from "vitest";
import { readingOrder } from "../../../src/tools/ocr/reading-order.js";

const at = (name: string, x1: number, y1: number, x2: number, y2: number) => ({ name, box: { x1, y1, x2, y2 } });

describe("readingOrder", () => {
  it("reads rows top to bottom and cells left to right, even when a cell sits a little higher", () => {
    const items = [
      at("balance", 400, 52, 480, 70),
      at("row2", 10, 100, 90, 118),
      at("date", 10, 50, 90, 68),
      at("desc", 120, 48, 300, 66),
    ];
    expect(readingOrder(items).map((i) => i.name)).toEqual(["date", "desc", "balance", "row2"]);
  });
});
