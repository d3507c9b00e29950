import { describe, expect, it } from "vitest";
import { ctcGreedyDecode, ctcWords, wordSpans } from "../../../../src/tools/ocr/ppocr/ctc-decode.js";
import type { CtcAlphabet } from "../../../../src/tools/ocr/ppocr/dictionary.js";

const alphabet: CtcAlphabet = { symbols: ["", "a", "b", "c", " "], blank: 0, space: 4 };

/** One-hot-ish rows: the named class gets `p`, the rest share what is left. */
function frames(classes: number[], p = 0.9): Float32Array {
  const out = new Float32Array(classes.length * 5);
  classes.forEach((k, t) => {
    for (let c = 0; c < 5; c++) out[t * 5 + c] = c === k ? p : (1 - p) / 4;
  });
  return out;
}

describe("ctcGreedyDecode", () => {
  it("merges repeats, drops blanks, keeps a doubled letter split by a blank", () => {
    const chars = ctcGreedyDecode(frames([1, 1, 0, 2, 0, 2, 2, 0, 3]), 9, 5, alphabet);
    expect(chars.map((c) => c.symbol).join("")).toBe("abbc");
    expect(chars[0]).toMatchObject({ firstStep: 0, lastStep: 1 });
    expect(chars[2]).toMatchObject({ firstStep: 5, lastStep: 6 });
    expect(chars[0].probability).toBeCloseTo(0.9, 6);
  });

  it("ctcWords splits at the space class and keeps each word's time span", () => {
    const chars = ctcGreedyDecode(frames([1, 0, 2, 4, 3, 0, 1]), 7, 5, alphabet);
    const words = ctcWords(chars);
    expect(words.map((w) => w.text)).toEqual(["ab", "ca"]);
    expect(words[1]).toMatchObject({ firstStep: 4, lastStep: 6 });
  });

  it("ctcWords splits where characters sit much further apart than the line's usual pitch", () => {
    // a b c at pitch 2, then a gap of 8 steps, then a b.
    const chars = ctcGreedyDecode(frames([1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]), 15, 5, alphabet);
    expect(ctcWords(chars).map((w) => w.text)).toEqual(["abcab"]);
    expect(ctcWords(chars, 1.6).map((w) => w.text)).toEqual(["abc", "ab"]);
  });

  it("wordSpans cuts the line halfway across the gaps and gives the ends to the outer words", () => {
    const words = [
      { text: "ab", confidence: 1, firstStep: 2, lastStep: 5 },
      { text: "cd", confidence: 1, firstStep: 9, lastStep: 12 },
      { text: "e", confidence: 1, firstStep: 16, lastStep: 16 },
    ];
    // 8 columns per step, 160 columns of content (the rest of the tensor is padding).
    const spans = wordSpans(words, 8, 160);
    expect(spans.map((s) => [s.from, s.to])).toEqual([
      [0, (7.5 * 8) / 160],
      [(7.5 * 8) / 160, (14.5 * 8) / 160],
      [(14.5 * 8) / 160, 1],
    ]);
    expect(wordSpans([words[0]], 8, 160).map((s) => [s.from, s.to])).toEqual([[0, 1]]);
  });
});
