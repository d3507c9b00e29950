/**
 * Which script a line is read in. The PP-OCRv4 recogniser has one dictionary of 6,623 characters (Chinese,
 * Latin, digits, punctuation, a few Greek and Japanese ones); on a blurry Latin line it now and then picks a
 * Chinese look-alike ("EUS离664") or a full-width bracket ("（M)"). A line read as Latin is decoded again
 * with only Latin characters allowed, so such a character is replaced by the best Latin one the
 * recogniser saw at that place.
 *
 * - `latin`: Latin letters (with accents), digits, ASCII and Latin-1 punctuation and common symbols.
 * - `chinese`: the whole dictionary (Chinese lines mix in Latin words and digits).
 * - `auto` (default): per line. A line is Chinese when its first reading has a run of two or more CJK
 *   characters, or CJK characters and no Latin letter at all (a lone "东" on a street sign); any other line
 *   is Latin. So a single stray CJK character among Latin letters never survives, while Chinese text
 *   (which comes in runs) keeps reading as before.
 */
export type LineScript = "latin" | "chinese";
export type ScriptOption = "auto" | LineScript;
export const scriptOptions = ["auto", "latin", "chinese"] as const;

/** Han, kana, Hangul, CJK punctuation and full-width forms: the characters a Latin line must not gain. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;

export function isCjk(char: string): boolean {
  return CJK.test(char);
}

/** A character a Latin line may contain (the dictionary also has Greek, Cyrillic and box-drawing ones). */
export function isLatinSymbol(symbol: string): boolean {
  if (symbol === "" || isCjk(symbol)) return false;
  return /^[\p{Script=Latin}\p{Script=Common}\p{Script=Inherited}]+$/u.test(symbol) && !/[\u2500-\u27ff]/u.test(symbol);
}

/** 1 for each class of the dictionary a Latin line may emit (the blank and space classes included). */
export function latinMask(symbols: readonly string[], blank: number, space: number): Uint8Array {
  const mask = new Uint8Array(symbols.length);
  symbols.forEach((symbol, k) => {
    if (k === blank || k === space || isLatinSymbol(symbol)) mask[k] = 1;
  });
  return mask;
}

/** The `auto` rule above, on a line's first (unrestricted) reading. */
export function lineScript(text: string): LineScript {
  let run = 0;
  let longestRun = 0;
  let cjk = 0;
  let latinLetters = 0;
  for (const char of text) {
    if (isCjk(char) && /\p{L}/u.test(char)) {
      cjk++;
      run++;
      longestRun = Math.max(longestRun, run);
      continue;
    }
    run = 0;
    if (/\p{Script=Latin}/u.test(char)) latinLetters++;
  }
  if (longestRun >= 2) return "chinese";
  return cjk > 0 && latinLetters === 0 ? "chinese" : "latin";
}
