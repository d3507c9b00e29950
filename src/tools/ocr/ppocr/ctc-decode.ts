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
 *
 * `allowed` (1 per class that may be emitted) restricts the characters: where the best class is not
 * allowed, the best allowed character takes its place (not the blank: the recogniser saw a character
 * there, it only picked the wrong script for it, e.g. a Chinese look-alike inside a Latin word).
 */
export function ctcGreedyDecode(
  probabilities: Float32Array,
  steps: number,
  classes: number,
  alphabet: CtcAlphabet,
  allowed?: Uint8Array,
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
    if (allowed !== undefined && best !== alphabet.blank && allowed[best] !== 1) {
      let substitute = alphabet.blank;
      let substituteP = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < classes; k++) {
        const p = probabilities[base + k];
        if (k !== alphabet.blank && allowed[k] === 1 && p > substituteP) {
          substituteP = p;
          substitute = k;
        }
      }
      best = substitute;
      bestP = substituteP;
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

/**
 * Puts a space between two characters where the recogniser gave the space class real weight in the steps
 * between them, even though it never won a step there. PP-OCR's Chinese recogniser was trained mostly on
 * text without spaces; on Latin lines it rarely emits the space class outright ("PASTAFOUNTAINVISITOR"),
 * yet across a word gap P(space) rises to 0.01-0.5 while between the letters of a word it stays near zero
 * (measured on the rendered tune set, bench/ocr/_tune-decoding.ts). The steps looked at run from the last
 * step of the character before to the first step of the one after.
 *
 * Weak evidence (at least `minProbability`) counts only where the two characters also sit further apart
 * than `minPitchRatio` times the line's median character pitch: on real photos P(space) sometimes flickers
 * up inside a word ("WI TH"); `sureProbability` and above counts wherever it is.
 */
export interface SpaceEvidence {
  minProbability: number;
  sureProbability: number;
  minPitchRatio: number;
}

/** The median distance between the centres of neighbouring characters (undefined under three pairs). */
function medianPitch(chars: CtcChar[]): number | undefined {
  const centre = (c: CtcChar) => (c.firstStep + c.lastStep) / 2;
  const pitches: number[] = [];
  for (let i = 1; i < chars.length; i++) {
    if (chars[i].symbol.trim() !== "" && chars[i - 1].symbol.trim() !== "")
      pitches.push(centre(chars[i]) - centre(chars[i - 1]));
  }
  pitches.sort((a, b) => a - b);
  return pitches.length >= 3 ? pitches[Math.floor(pitches.length / 2)] : undefined;
}

export function insertSpaces(
  chars: CtcChar[],
  probabilities: Float32Array,
  classes: number,
  spaceClass: number,
  evidence: SpaceEvidence,
): CtcChar[] {
  if (!(evidence.minProbability < 1)) return chars;
  const pitch = medianPitch(chars);
  const centre = (c: CtcChar) => (c.firstStep + c.lastStep) / 2;
  const out: CtcChar[] = [];
  for (let i = 0; i < chars.length; i++) {
    const current = chars[i];
    const before = out[out.length - 1];
    if (before !== undefined && before.symbol.trim() !== "" && current.symbol.trim() !== "") {
      let best = 0;
      let at = before.lastStep;
      for (let t = before.lastStep; t <= current.firstStep; t++) {
        const p = probabilities[t * classes + spaceClass];
        if (p > best) {
          best = p;
          at = t;
        }
      }
      const apart = pitch === undefined || centre(current) - centre(before) >= evidence.minPitchRatio * pitch;
      if (best >= evidence.sureProbability || (best >= evidence.minProbability && apart))
        out.push({ symbol: " ", firstStep: at, lastStep: at, probability: best });
    }
    out.push(current);
  }
  return out;
}

export interface CtcWord {
  text: string;
  confidence: number;
  firstStep: number;
  lastStep: number;
  /** The word's characters, in order (their steps place each one along the line). */
  chars: CtcChar[];
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
      chars: current,
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

/**
 * Where each character of a word lies within the word's span (fractions of the line, like wordSpans):
 * cut halfway between one character's last step and the next one's first, the outer characters reaching
 * the word's ends. The recogniser's own time steps, not an even split, so "il" and "WM" get their widths.
 */
export function charSpans(
  word: CtcWord,
  from: number,
  to: number,
  stepWidth: number,
  contentWidth: number,
): { char: CtcChar; from: number; to: number }[] {
  const cut = (a: CtcChar, b: CtcChar) =>
    Math.min(to, Math.max(from, (((a.lastStep + b.firstStep + 1) / 2) * stepWidth) / contentWidth));
  return word.chars.map((char, i) => {
    const left = i === 0 ? from : cut(word.chars[i - 1], char);
    const right = i === word.chars.length - 1 ? to : cut(char, word.chars[i + 1]);
    return { char, from: left, to: Math.max(left, right) };
  });
}
