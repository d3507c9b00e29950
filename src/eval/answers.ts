import { type GroundingItem, parseGrounding } from "../model/grounding.js";
import { optionLetter } from "./prompts.js";

/**
 * Reading answers without a judge model. Every rule here is deterministic and written down, so a parse
 * failure is a property of the answer, not of a judge's mood; failures are counted in the report.
 */

/** Case, accents-as-written, punctuation and spacing removed: "The  Hop-Inn!" → "the hop inn". */
export function normaliseText(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}]+/gu, " ")
    .trim();
}

/**
 * The option letter an answer picks, or null. In order: the answer is an option's text; the answer is a
 * letter alone ("B", "(B)", "B.", "B) blue"); "answer is B" / "Answer: (B)"; exactly one option letter
 * in parentheses; exactly one valid capital letter standing alone; exactly one option's text inside it.
 * A lone "A" in running text ("A red cup") is an article, so standalone letters count only when unique and
 * not followed by a lower-case word.
 */
export function parseChoice(answer: string, options: readonly string[]): string | null {
  const text = answer.trim();
  const letters = options.map((_, index) => optionLetter(index));
  const valid = (letter: string | undefined) => (letter && letters.includes(letter) ? letter : null);
  const normalised = normaliseText(text);
  const exact = options.findIndex((option) => normaliseText(option) === normalised);
  if (normalised !== "" && exact >= 0) return optionLetter(exact);
  const leading = /^\(?([A-Z])\)?(?:$|[.):,]|\s+-)/.exec(text);
  if (leading && valid(leading[1])) {
    // "(A) or (B)" leads with a letter but names another: ambiguous, not A.
    const rest = text.slice(leading[0].length);
    const other = [...rest.matchAll(/\(([A-Z])\)/g)].some((match) => valid(match[1]) && match[1] !== leading[1]);
    if (!other) return leading[1] as string;
    return null;
  }
  const stated = /\banswer(?:\s+is)?\s*[:：]?\s*\(?([A-Z])\)?(?![a-z])/i.exec(text);
  if (stated && valid(stated[1]?.toUpperCase())) return stated[1]?.toUpperCase() as string;
  const unique = (found: Array<string | null>) => {
    const set = new Set(found.filter((letter): letter is string => letter !== null));
    return set.size === 1 ? ([...set][0] as string) : null;
  };
  const bracketed = unique([...text.matchAll(/\(([A-Z])\)/g)].map((match) => valid(match[1])));
  if (bracketed) return bracketed;
  const standalone = unique([...text.matchAll(/(?<![\w'])([A-Z])(?![\w'])(?!\s+[a-z])/g)].map((m) => valid(m[1])));
  if (standalone) return standalone;
  const contained = options
    .map((option, index) => (normalised.includes(normaliseText(option)) ? optionLetter(index) : null))
    .filter((letter): letter is string => letter !== null);
  return contained.length === 1 ? (contained[0] as string) : null;
}

/**
 * The parts of an answer that may carry a short answer: the whole text, its last non-empty line, and what
 * follows a final "answer:" / "answer is" — models often explain first and answer last.
 */
export function answerCandidates(answer: string): string[] {
  const text = answer.trim();
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const stated = [...text.matchAll(/\banswer(?:\s+is)?\s*[:：]\s*([^\n]+)/gi)].at(-1)?.[1];
  const candidates = [text, lines.at(-1) ?? "", stated ?? ""].map((candidate) => candidate.trim());
  return [...new Set(candidates.filter((candidate) => candidate !== ""))];
}

/** The accepted answer the text matches, or null. */
export function matchText(answer: string, accepted: readonly string[], mode: "normalised" | "exact"): string | null {
  if (mode === "exact") return accepted.find((truth) => truth.trim() === answer.trim()) ?? null;
  const candidates = answerCandidates(answer).map((candidate) => normaliseText(candidate.replace(/\.$/, "")));
  return accepted.find((truth) => candidates.includes(normaliseText(truth))) ?? null;
}

/** Grounding JSON in the answer (Qwen3-VL's `bbox_2d` / `point_2d`, 0–1000, optional `img_idx`). */
export function parseGroundingAnswer(answer: string): GroundingItem[] {
  return parseGrounding(answer);
}

/** The words of an answer, one list per line (the shape word recall takes). */
export function answerWordLines(answer: string): string[][] {
  return answer
    .split("\n")
    .map((line) => line.split(/\s+/u).filter((word) => word !== ""))
    .filter((line) => line.length > 0);
}
