import { describe, expect, it } from "vitest";
import { fixLetterDigitConfusions } from "../../../../src/tools/ocr/ppocr/letter-digit-context.js";

describe("fixLetterDigitConfusions", () => {
  it("reads 0 as O inside words of letters, in the case of the letters beside it", () => {
    expect(fixLetterDigitConfusions("L0T")).toBe("LOT");
    expect(fixLetterDigitConfusions("F0IL")).toBe("FOIL");
    expect(fixLetterDigitConfusions("c0ffee")).toBe("coffee");
    expect(fixLetterDigitConfusions("G00D")).toBe("GOOD");
    expect(fixLetterDigitConfusions("(L0T)")).toBe("(LOT)");
  });

  it("reads O as 0 inside numbers", () => {
    expect(fixLetterDigitConfusions("2O19")).toBe("2019");
    expect(fixLetterDigitConfusions("1O.5O")).toBe("10.50");
  });

  it("leaves codes, short words and clean words as read", () => {
    for (const word of ["SM047555", "A0", "B0X1", "1st", "COVID-19", "O2", "10", "LOT", "0", "N0."])
      expect(fixLetterDigitConfusions(word), word).toBe(word);
    expect(fixLetterDigitConfusions("AB0")).toBe("ABO");
  });
});
