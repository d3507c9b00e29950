import { type Box, boxHeight, boxWidth, unionBox } from "./geometry.js";
import type { OcrLine, OcrResult, OcrWord } from "./ocr/types.js";

/**
 * Finding a text (a word, a phrase, part of a word) among OCR lines, for locate without a model. Matching is
 * on letters and digits only, case-free, in any script; each match gets the box of exactly the words — or,
 * inside a word, the characters — it covers, from where the recogniser placed each character.
 */

/** Lower case, compatibility-normalised, letters and digits only (any script): "Sign-in!" → "signin". */
export function normaliseForMatch(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "");
}

const casedForMatch = (text: string) => text.normalize("NFKC").replace(/[^\p{L}\p{N}]+/gu, "");

/**
 * How good a match is; lower is better. Exact words ("OPTIONS" as a word of its own) come before whole words
 * that are only split differently ("signin" over "Sign in"), which come before a match inside a longer word
 * ("OPTIONS" in "optionsSuccessStatus").
 */
export const MATCH_RANK = { exactWords: 0, wholeWords: 1, insideWord: 2 } as const;

export interface TextMatch {
  box: Box;
  /** What OCR read there: the words matched, or the characters matched inside a word. */
  text: string;
  confidence: number;
  rank: number;
  /** The letters match the query's case too (a tie-breaker within a rank). */
  sameCase: boolean;
  /** The match runs from one line onto the next (a label wrapped in a narrow column). */
  wrapped: boolean;
}

/** A word's characters with boxes: the engine's own, else the word's box cut evenly (all a word box allows). */
function wordChars(word: OcrWord): { text: string; box: Box }[] {
  if (word.chars && word.chars.length > 0) return word.chars;
  const symbols = [...word.text];
  const step = boxWidth(word.box) / Math.max(1, symbols.length);
  return symbols.map((text, i) => ({
    text,
    box: { ...word.box, x1: word.box.x1 + i * step, x2: word.box.x1 + (i + 1) * step },
  }));
}

/** One letter or digit of the run of words, as matching sees it. */
interface MatchUnit {
  norm: string;
  cased: string;
  box: Box;
  word: number;
  /** Index of the character in the word (for the text of a match inside a word). */
  char: number;
}

interface Query {
  target: string;
  tokens: string[];
  cased: string;
}

export function textQuery(text: string): Query {
  return {
    target: normaliseForMatch(text),
    tokens: text
      .split(/\s+/u)
      .map(normaliseForMatch)
      .filter((t) => t !== ""),
    cased: casedForMatch(text),
  };
}

/** The best place for the query in a run of words (one line, or two when a label wraps). */
function matchInWords(
  words: OcrWord[],
  query: Query,
): (Omit<TextMatch, "wrapped"> & { words: [number, number] }) | undefined {
  const units: MatchUnit[] = [];
  const charsOf = words.map(wordChars);
  charsOf.forEach((chars, w) => {
    chars.forEach((char, c) => {
      // NFKC may make several characters of one ("ﬁ"); each gets the character's box.
      for (const unit of casedForMatch(char.text))
        units.push({ norm: unit.toLowerCase(), cased: unit, box: char.box, word: w, char: c });
    });
  });
  const joined = units.map((u) => u.norm).join("");
  const wordNorms = words.map((word) => normaliseForMatch(word.text));
  // Offsets in `joined` where each unit starts (a lower-cased unit may be longer than one code unit).
  const starts: number[] = [];
  let offset = 0;
  for (const unit of units) {
    starts.push(offset);
    offset += unit.norm.length;
  }
  let best: (Omit<TextMatch, "wrapped"> & { words: [number, number] }) | undefined;
  for (let at = joined.indexOf(query.target); at >= 0; at = joined.indexOf(query.target, at + 1)) {
    const first = starts.findIndex((s, k) => s + units[k]!.norm.length > at);
    const end = at + query.target.length;
    const last = starts.findIndex((s, k) => s + units[k]!.norm.length >= end);
    if (first < 0 || last < 0 || starts[first] !== at) continue;
    const from = units[first]!;
    const to = units[last]!;
    const startsWord = first === 0 || units[first - 1]!.word !== from.word;
    const endsWord = last === units.length - 1 || units[last + 1]!.word !== to.word;
    const spanned = wordNorms.slice(from.word, to.word + 1).filter((w) => w !== "");
    const rank = !(startsWord && endsWord)
      ? MATCH_RANK.insideWord
      : spanned.length === query.tokens.length && spanned.every((w, i) => w === query.tokens[i])
        ? MATCH_RANK.exactWords
        : MATCH_RANK.wholeWords;
    const matched = units.slice(first, last + 1);
    const sameCase = matched.map((u) => u.cased).join("") === query.cased;
    if (best && (best.rank < rank || (best.rank === rank && (best.sameCase || !sameCase)))) continue;
    const covered = words.slice(from.word, to.word + 1);
    const text =
      rank === MATCH_RANK.insideWord
        ? covered
            .map((_word, i) => {
              const chars = charsOf[from.word + i]!;
              const a = i === 0 ? from.char : 0;
              const b = i === covered.length - 1 ? to.char : chars.length - 1;
              return chars
                .slice(a, b + 1)
                .map((c) => c.text)
                .join("");
            })
            .join(" ")
        : covered.map((w) => w.text).join(" ");
    best = {
      // Whole words: their boxes (with the punctuation around the letters); inside a word: just the characters.
      box: unionBox(rank === MATCH_RANK.insideWord ? matched.map((u) => u.box) : covered.map((w) => w.box)),
      text,
      confidence: Math.min(...covered.map((w) => w.confidence)),
      rank,
      sameCase,
      words: [from.word, to.word],
    };
  }
  return best;
}

/** The best place for the query in one line; undefined when the line does not hold it. */
export function matchInLine(line: OcrLine, query: Query): TextMatch | undefined {
  if (!normaliseForMatch(line.text).includes(query.target)) return undefined;
  const found = matchInWords(line.words, query);
  if (found) {
    const { words: _words, ...match } = found;
    return { ...match, wrapped: false };
  }
  // The line's text holds the query but its words do not (an engine whose words and line disagree).
  return {
    box: line.box,
    text: line.text,
    confidence: line.confidence,
    rank: MATCH_RANK.insideWord,
    sameCase: false,
    wrapped: false,
  };
}

/**
 * Whether `below` continues `above` as the next line of one label: it starts under it (their x ranges
 * overlap), follows within a line's height, and has about the same text height.
 */
function continues(above: OcrLine, below: OcrLine): boolean {
  const h1 = boxHeight(above.box);
  const h2 = boxHeight(below.box);
  if (h1 <= 0 || h2 <= 0 || Math.max(h1, h2) / Math.min(h1, h2) > 1.5) return false;
  const gap = below.box.y1 - above.box.y2;
  const overlap = Math.min(above.box.x2, below.box.x2) - Math.max(above.box.x1, below.box.x1);
  return gap > -0.3 * h1 && gap < h1 && overlap > 0;
}

/**
 * Every line that holds the query, plus labels wrapped over two lines ("SIGNATURE / DRINKS" in a narrow
 * menu), best first: by rank, then same case, then single lines before wrapped ones, then confidence.
 * Matches without area (a box clamped away at the image's edge) are left out.
 */
export function findText(result: OcrResult, text: string): TextMatch[] {
  const query = textQuery(text);
  if (query.target === "") return [];
  const matches: TextMatch[] = [];
  for (const line of result.lines) {
    const match = matchInLine(line, query);
    if (match) matches.push(match);
  }
  if (query.tokens.length > 1) {
    for (const above of result.lines) {
      for (const below of result.lines) {
        if (above === below || !continues(above, below)) continue;
        const found = matchInWords([...above.words, ...below.words], query);
        // Only matches that really cross from one line to the next; the rest were found above.
        if (!found || found.words[0] >= above.words.length || found.words[1] < above.words.length) continue;
        const { words: _words, ...match } = found;
        matches.push({ ...match, wrapped: true });
      }
    }
  }
  return matches
    .filter((m) => boxWidth(m.box) > 0 && boxHeight(m.box) > 0)
    .sort(
      (p, q) =>
        p.rank - q.rank ||
        Number(q.sameCase) - Number(p.sameCase) ||
        Number(p.wrapped) - Number(q.wrapped) ||
        q.confidence - p.confidence,
    );
}
