/** Levenshtein distance over code points (two rows). */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[y.length]!;
}

/**
 * What the character error rate compares: a page's words (NFKC, split at white space) sorted and joined by
 * single spaces. Sorted because line order and how a detector splits a row ("ITEM" and "3.99" apart) are not
 * what CER should judge here; case, spaces between words and every character inside them still count.
 */
export function pageText(lines: string[]): string {
  return lines
    .flatMap((l) => l.normalize("NFKC").split(/\s+/u))
    .filter((w) => w !== "")
    .sort()
    .join(" ");
}

/**
 * What "CER, spaces ignored" compares: the lines in the order they came (the truth top to bottom, an engine's
 * reading order), NFKC, with all white space taken out. Not sorted: sorting words before taking the spaces out
 * (as this bench once did) scrambles a Chinese line whenever the reader put a space somewhere else than the
 * truth, and charged ~35% "errors" on lines read character for character right.
 */
export function unspacedText(lines: string[]): string {
  return lines.map((l) => l.normalize("NFKC").replace(/\s+/gu, "")).join("");
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;
export const hasCjk = (text: string) => CJK.test(text);
