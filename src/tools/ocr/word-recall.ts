/**
 * Word recall: the share of the truth's words that the OCR output contains.
 *
 * - A word is normalised by NFKC, lower-casing, and keeping only letters, marks and digits
 *   ("$13.99" -> "1399", "„schnelle“" -> "schnelle", "Rd." -> "rd"); accents are kept ("über" != "uber").
 *   Words that normalise to nothing (a lone "-" or "&") are not counted.
 * - `keepCase` (strict scoring) keeps upper and lower case apart: "Street" != "STREET".
 * - Truth and output are multisets: each OCR word can account for one truth word only.
 * - Some sources transcribe without spaces (WildReceipt: "THANKYOUFORSHOPPINGWITHUS!"), so a truth word
 *   also counts as found when it equals consecutive, unused OCR words of one line joined together. The
 *   reverse is not allowed: an OCR word that merged two truth words finds neither.
 */
export function normaliseWord(word: string, keepCase = false): string {
  const nfkc = word.normalize("NFKC");
  return (keepCase ? nfkc : nfkc.toLowerCase()).replace(/[^\p{L}\p{M}\p{N}]/gu, "");
}

export function truthWords(text: string): string[] {
  return text
    .split(/\s+/u)
    .map((w) => normaliseWord(w))
    .filter((w) => w.length > 0);
}

export interface WordRecall {
  found: number;
  total: number;
  recall: number;
  missing: string[];
}

export interface WordRecallOptions {
  /** Let a space-less truth word match consecutive OCR words (default true; false = exact words only). */
  joinWords?: boolean;
  /** Case must match too (default false). */
  keepCase?: boolean;
}

/** `ocrLines` is the OCR output: each line's words, in reading order. */
export function wordRecall(truth: string[], ocrLines: string[][], options: WordRecallOptions = {}): WordRecall {
  const normalise = (w: string) => normaliseWord(w, options.keepCase ?? false);
  const lines = ocrLines.map((line) => line.map(normalise).filter((w) => w.length > 0));
  const used = lines.map((line) => line.map(() => false));
  const wanted = truth.map(normalise).filter((w) => w.length > 0);
  const found = wanted.map(() => false);
  // Exact single words first, so a join never takes a word that matches on its own.
  wanted.forEach((word, i) => {
    for (let l = 0; l < lines.length && !found[i]; l++) {
      const at = lines[l].findIndex((w, k) => !used[l][k] && w === word);
      if (at >= 0) {
        used[l][at] = true;
        found[i] = true;
      }
    }
  });
  if (options.joinWords === false) return summarise(wanted, found);
  wanted.forEach((word, i) => {
    for (let l = 0; l < lines.length && !found[i]; l++) {
      for (let start = 0; start < lines[l].length && !found[i]; start++) {
        let joined = "";
        for (let end = start; end < lines[l].length && !used[l][end]; end++) {
          joined += lines[l][end];
          if (joined === word) {
            for (let k = start; k <= end; k++) used[l][k] = true;
            found[i] = true;
            break;
          }
          if (!word.startsWith(joined)) break;
        }
      }
    }
  });
  return summarise(wanted, found);
}

function summarise(wanted: string[], found: boolean[]): WordRecall {
  const count = found.filter(Boolean).length;
  return {
    found: count,
    total: wanted.length,
    recall: wanted.length === 0 ? 1 : count / wanted.length,
    missing: wanted.filter((_, i) => !found[i]),
  };
}
