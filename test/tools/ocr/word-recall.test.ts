import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normaliseWord, truthWords, wordRecall } from "../../../src/tools/ocr/word-recall.js";

describe("normaliseWord", () => {
  it("folds case and width, drops punctuation and symbols, keeps accents and CJK", () => {
    expect(normaliseWord("$13.99")).toBe("1399");
    expect(normaliseWord("„schnelle“")).toBe("schnelle");
    expect(normaliseWord("Rd.")).toBe("rd");
    expect(normaliseWord("über")).toBe("über");
    expect(normaliseWord("ＡＢＣ")).toBe("abc");
    expect(normaliseWord("愚园路")).toBe("愚园路");
    expect(normaliseWord("-")).toBe("");
  });

  it("truthWords splits on whitespace and drops words that normalise to nothing", () => {
    expect(truthWords("Over the $43,456.78 <lazy> #90 dog\n& duck")).toEqual([
      "over",
      "the",
      "4345678",
      "lazy",
      "90",
      "dog",
      "duck",
    ]);
  });
});

describe("wordRecall", () => {
  it("counts a multiset: one OCR word finds one truth word", () => {
    const r = wordRecall(["the", "the", "fox"], [["The", "fox"]]);
    expect(r).toMatchObject({ found: 2, total: 3, missing: ["the"] });
  });

  it("finds a space-less truth word in consecutive OCR words of one line, not across lines", () => {
    expect(wordRecall(["THANKYOU!!"], [["THANK", "YOU!!"]]).found).toBe(1);
    expect(wordRecall(["THANKYOU"], [["THANK"], ["YOU"]]).found).toBe(0);
    expect(wordRecall(["THANKYOU!!"], [["THANK", "YOU!!"]], { joinWords: false }).found).toBe(0);
  });

  it("does not let a merged OCR word stand for two truth words", () => {
    expect(wordRecall(["date", "12/30"], [["DATE12/30"]]).found).toBe(0);
  });

  it("prefers exact words before joins, so a join cannot steal a word that matches alone", () => {
    const r = wordRecall(["ab", "a"], [["a", "b"]]);
    expect(r).toMatchObject({ found: 1, missing: ["ab"] });
  });

  it("is 1 for the truth read back in any line split, and 0 for an empty read", () => {
    const word = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 5 }), (words, perLine) => {
        const lines: string[][] = [];
        for (let i = 0; i < words.length; i += perLine) lines.push(words.slice(i, i + perLine).reverse());
        expect(wordRecall(words, lines).recall).toBe(1);
        expect(wordRecall(words, []).recall).toBe(0);
      }),
    );
  });
});
