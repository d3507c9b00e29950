/**
 * `0` and `O` look alike in most fonts and the recogniser reads each character with little sense of the
 * word around it: "L0T", "F0IL", "2O19". Within one word of a Latin line, the other characters decide:
 *
 * - a `0` in a word whose other alphanumerics are all letters (at least two) becomes `O`, or `o` when the
 *   letters beside it are lower case ("L0T" → "LOT", "c0ffee" → "coffee");
 * - an `O`/`o` in a word whose other alphanumerics are all digits (at least two) becomes `0` ("2O19" → "2019").
 *
 * Words mixing other letters and digits ("B0X1", "A0", "SM047555", "1st") are codes and stay as read. The
 * length never changes, so each character keeps its box.
 */
export function fixLetterDigitConfusions(word: string): string {
  const chars = [...word];
  const alnum = chars.filter((c) => /[\p{L}\p{N}]/u.test(c));
  const zeros = alnum.filter((c) => c === "0").length;
  const ohs = alnum.filter((c) => c === "O" || c === "o").length;
  const letters = alnum.filter((c) => /\p{L}/u.test(c)).length;
  const digits = alnum.length - letters;
  if (zeros > 0 && digits === zeros && letters >= 2) {
    return chars
      .map((c, i) => {
        if (c !== "0") return c;
        const neighbours = [chars[i - 1], chars[i + 1]].filter((n): n is string => n !== undefined && /\p{L}/u.test(n));
        const lower = neighbours.length > 0 && neighbours.every((n) => n === n.toLowerCase() && n !== n.toUpperCase());
        return lower ? "o" : "O";
      })
      .join("");
  }
  if (ohs > 0 && letters === ohs && digits >= 2) return chars.map((c) => (c === "O" || c === "o" ? "0" : c)).join("");
  return word;
}
