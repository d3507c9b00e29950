import type { CtcAlphabet } from "./dictionary.js";

/** One emitted character, with the output time steps it covered (inclusive) and its probability. */
export interface CtcChar {
  symbol: string;
  firstStep: number;
  lastStep: number;
  probability: number;
}

/**
 * Greedy CTC decoding: best class per time step, repeated classes merged, blanks dropped. Keeps where each
 * character sat in time so word boxes can be cut from the line box.
 */
export function ctcGreedyDecode(
  probabilities: Float32Array,
  steps: number,
  classes: number,
  alphabet: CtcAlphabet,
): CtcChar[] {
  const chars: CtcChar[] = [];
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    let bestP = Number.NEGATIVE_INFINITY;
    const base = t * classes;
    for (let k = 0; k < classes; k++) {
      const p = probabilities[base + k];
      if (p > bestP) {
        bestP = p;
        best = k;
      }
    }
    if (best !== alphabet.blank) {
      if (best === previous) {
        const last = chars[chars.length - 1];
        last.lastStep = t;
        last.probability = Math.max(last.probability, bestP);
      } else {
        chars.push({ symbol: alphabet.symbols[best] ?? "", firstStep: t, lastStep: t, probability: bestP });
      }
    }
    previous = best;
  }
  return chars;
}

export interface CtcWord {
  text: string;
  confidence: number;
  firstStep: number;
  lastStep: number;
}

/**
 * Splits decoded characters into words at spaces, and also where the distance between two characters'
 * centres is more than `gapFactor` times the line's median: the recogniser (trained mostly on Chinese,
 * which has no spaces) often drops the space in "DATE 12/30" even though the letters are far apart.
 * A word's confidence is its characters' mean.
 */
export function ctcWords(chars: CtcChar[], gapFactor = Number.POSITIVE_INFINITY): CtcWord[] {
  const centre = (c: CtcChar) => (c.firstStep + c.lastStep) / 2;
  const pitches: number[] = [];
  for (let i = 1; i < chars.length; i++) {
    if (chars[i].symbol.trim() !== "" && chars[i - 1].symbol.trim() !== "")
      pitches.push(centre(chars[i]) - centre(chars[i - 1]));
  }
  pitches.sort((a, b) => a - b);
  const median = pitches.length >= 3 ? pitches[Math.floor(pitches.length / 2)] : Number.POSITIVE_INFINITY;
  const words: CtcWord[] = [];
  let current: CtcChar[] = [];
  const flush = () => {
    if (current.length === 0) return;
    words.push({
      text: current.map((c) => c.symbol).join(""),
      confidence: current.reduce((sum, c) => sum + c.probability, 0) / current.length,
      firstStep: current[0].firstStep,
      lastStep: current[current.length - 1].lastStep,
    });
    current = [];
  };
  for (const c of chars) {
    if (c.symbol.trim() === "") {
      flush();
      continue;
    }
    const previous = current[current.length - 1];
    if (previous !== undefined && centre(c) - centre(previous) > gapFactor * median) flush();
    current.push(c);
  }
  flush();
  return words;
}

/**
 * Where each word lies along its line, as fractions 0-1 of the line's content width. CTC fires near the
 * middle of each character, so a word's first and last steps fall half a character inside it; instead
 * the line is cut halfway across each gap between words, and the first and last word reach the line's
 * ends (the detector's box is tight around the text). `stepWidth` is input columns per output step.
 */
export function wordSpans(
  words: CtcWord[],
  stepWidth: number,
  contentWidth: number,
): { word: CtcWord; from: number; to: number }[] {
  return words.map((word, i) => {
    const before = words[i - 1];
    const after = words[i + 1];
    const fromColumn = before === undefined ? 0 : ((before.lastStep + word.firstStep + 1) / 2) * stepWidth;
    const toColumn = after === undefined ? contentWidth : ((word.lastStep + after.firstStep + 1) / 2) * stepWidth;
    const from = Math.min(1, fromColumn / contentWidth);
    return { word, from, to: Math.max(from, Math.min(1, toColumn / contentWidth)) };
  });
}
