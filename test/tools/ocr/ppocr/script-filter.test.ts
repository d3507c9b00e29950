import { describe, expect, it } from "vitest";
import { ctcGreedyDecode } from "../../../../src/tools/ocr/ppocr/ctc-decode.js";
import type { CtcAlphabet } from "../../../../src/tools/ocr/ppocr/dictionary.js";
import { isLatinSymbol, latinMask, lineScript } from "../../../../src/tools/ocr/ppocr/script-filter.js";

describe("lineScript (auto)", () => {
  it("reads a line with a stray CJK character among Latin letters as Latin", () => {
    expect(lineScript("EUS离664")).toBe("latin");
    expect(lineScript("（M)")).toBe("latin");
    expect(lineScript("KF MODELLING CLAY")).toBe("latin");
    expect(lineScript("12.50")).toBe("latin");
  });

  it("keeps Chinese lines: runs of CJK, Latin mixed in, a lone character with no Latin letter", () => {
    expect(lineScript("营业时间 9:00-21:00")).toBe("chinese");
    expect(lineScript("Wi-Fi 免费")).toBe("chinese");
    expect(lineScript("东")).toBe("chinese");
    expect(lineScript("3号")).toBe("chinese");
  });
});

describe("latinMask", () => {
  it("allows Latin letters, accents, digits and ASCII punctuation; rules out CJK and full-width forms", () => {
    for (const s of ["a", "Z", "é", "ß", "0", "$", "(", "€", "°"]) expect(isLatinSymbol(s), s).toBe(true);
    for (const s of ["离", "（", "，", "。", "ア", "한", "α", "Ж", ""]) expect(isLatinSymbol(s), s).toBe(false);
    expect([...latinMask(["", "E", "离", "（", "(", " "], 0, 5)]).toEqual([1, 1, 0, 0, 1, 1]);
  });

  it("makes the decoder read the recogniser's best Latin guess where it picked a Chinese look-alike", () => {
    // "EUS离6": at step 6 "离" wins (0.5) over "S" (0.3). The mask rules "离" out, so "S" is read there.
    const symbols = ["", "E", "U", "S", "6", "离", " "];
    const alphabet: CtcAlphabet = { symbols, blank: 0, space: 6 };
    const winners = [1, 0, 2, 0, 3, 0, 5, 0, 4];
    const probs = new Float32Array(winners.length * symbols.length).fill(0.01);
    winners.forEach((k, t) => {
      probs[t * symbols.length + k] = 0.5;
    });
    probs[6 * symbols.length + 3] = 0.3;
    const read = (mask?: Uint8Array) =>
      ctcGreedyDecode(probs, winners.length, symbols.length, alphabet, mask)
        .map((c) => c.symbol)
        .join("");
    expect(read()).toBe("EUS离6");
    expect(lineScript(read())).toBe("latin");
    expect(read(latinMask(symbols, 0, 6))).toBe("EUSS6");
  });
});
