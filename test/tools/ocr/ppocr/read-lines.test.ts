import { describe, expect, it } from "vitest";
import { upsideDownByMajority } from "../../../../src/tools/ocr/ppocr/read-lines.js";

describe("upsideDownByMajority", () => {
  it("turns the page only when most of the lines the classifier is sure about are flipped", () => {
    expect(upsideDownByMajority([0.95, 0.99, 0.02])).toBe(true);
    // One confident flip among unsure lines and confident upright ones is not enough.
    expect(upsideDownByMajority([0.95, 0.5, 0.6, 0.01, 0.03])).toBe(false);
    // Unsure either way: keep the page as it is.
    expect(upsideDownByMajority([0.6, 0.4, 0.55])).toBe(false);
    expect(upsideDownByMajority([])).toBe(false);
    expect(upsideDownByMajority(undefined)).toBe(false);
  });
});
