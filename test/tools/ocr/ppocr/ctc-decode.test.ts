import { describe, expect, it } from "vitest";
import {
  charSpans,
  ctcGreedyDecode,
  ctcWords,
  insertSpaces,
  wordSpans,
} from "../../../../src/tools/ocr/ppocr/ctc-decode.js";
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
      { text: "ab", confidence: 1, firstStep: 2, lastStep: 5, chars: [] },
      { text: "cd", confidence: 1, firstStep: 9, lastStep: 12, chars: [] },
      { text: "e", confidence: 1, firstStep: 16, lastStep: 16, chars: [] },
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

  it("ctcGreedyDecode with a mask puts the best allowed character where a ruled-out one won", () => {
    // Step 2: class 3 ("c") wins with 0.6, "b" is second with 0.3; with "c" ruled out, "b" is read there.
    const probs = frames([1, 0, 3, 0, 1]);
    probs[2 * 5 + 2] = 0.3;
    probs[2 * 5 + 3] = 0.6;
    const mask = Uint8Array.from([1, 1, 1, 0, 1]);
    expect(
      ctcGreedyDecode(probs, 5, 5, alphabet)
        .map((c) => c.symbol)
        .join(""),
    ).toBe("aca");
    const masked = ctcGreedyDecode(probs, 5, 5, alphabet, mask);
    expect(masked.map((c) => c.symbol).join("")).toBe("aba");
    expect(masked[1]).toMatchObject({ firstStep: 2, lastStep: 2 });
    expect(masked[1]!.probability).toBeCloseTo(0.3, 6);
  });
});

describe("insertSpaces (space decoding from the blank gaps)", () => {
  /** "ab" then "ca": the space class never wins, but between b and c it reaches `pSpace`. */
  function twoWords(pSpace: number): Float32Array {
    // Every class that does not win a step gets 0.001.
    const probs = frames([1, 0, 2, 0, 0, 0, 3, 0, 1], 0.996);
    // Step 4 is a blank step in the gap between "b" (step 2) and "c" (step 6).
    probs[4 * 5 + 0] = 0.996 - pSpace;
    probs[4 * 5 + 4] = pSpace;
    return probs;
  }
  const decode = (probs: Float32Array, min: number) =>
    insertSpaces(ctcGreedyDecode(probs, 9, 5, alphabet), probs, 5, alphabet.space, {
      minProbability: min,
      sureProbability: 1,
      minPitchRatio: 0,
    })
      .map((c) => c.symbol)
      .join("");

  it("puts a space where P(space) in the gap reaches the threshold", () => {
    expect(decode(twoWords(0.02), 0.005)).toBe("ab ca");
    const spaced = insertSpaces(ctcGreedyDecode(twoWords(0.02), 9, 5, alphabet), twoWords(0.02), 5, alphabet.space, {
      minProbability: 0.005,
      sureProbability: 1,
      minPitchRatio: 0,
    });
    expect(spaced[2]).toMatchObject({ symbol: " ", firstStep: 4, lastStep: 4 });
    expect(ctcWords(spaced).map((w) => w.text)).toEqual(["ab", "ca"]);
  });

  it("adds none where the space class stays below it, or when the threshold is 1", () => {
    expect(decode(twoWords(0.002), 0.005)).toBe("abca");
    expect(decode(twoWords(0.3), 1)).toBe("abca");
  });

  it("never doubles a space the recogniser emitted itself", () => {
    // The emitted space's own step has P(space) 0.996: it must not add a second one next to it.
    const probs = frames([1, 0, 2, 4, 3, 0, 1], 0.996);
    expect(
      insertSpaces(ctcGreedyDecode(probs, 7, 5, alphabet), probs, 5, alphabet.space, {
        minProbability: 0.005,
        sureProbability: 1,
        minPitchRatio: 0,
      })
        .map((c) => c.symbol)
        .join(""),
    ).toBe("ab ca");
  });
});

describe("charSpans (sub-word boxes)", () => {
  it("cuts a word between its characters' steps, the outer ones reaching the word's ends", () => {
    const chars = ctcGreedyDecode(frames([0, 1, 0, 0, 2, 2, 0, 3, 0, 0]), 10, 5, alphabet);
    const [word] = ctcWords(chars);
    // 8 columns per step, 80 columns of content; the word spans the whole line.
    const spans = charSpans(word!, 0, 1, 8, 80);
    expect(spans.map((s) => s.char.symbol)).toEqual(["a", "b", "c"]);
    // a at step 1, b at steps 4-5, c at step 7: cuts at (1+4+1)/2 = 3 and (5+7+1)/2 = 6.5 steps.
    expect(spans.map((s) => [s.from, s.to])).toEqual([
      [0, 0.3],
      [0.3, 0.65],
      [0.65, 1],
    ]);
  });
});
