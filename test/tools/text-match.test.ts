import { describe, expect, it } from "vitest";
import type { OcrLine, OcrResult, OcrWord } from "../../src/tools/ocr/types.js";
import { findText, MATCH_RANK } from "../../src/tools/text-match.js";

/** A word whose characters sit at the given x edges (as the built-in OCR places them), 20 px high at y. */
function word(text: string, edges: number[], y = 0, confidence = 0.9): OcrWord {
  const symbols = [...text];
  const chars = symbols.map((t, i) => ({ text: t, box: { x1: edges[i]!, y1: y, x2: edges[i + 1]!, y2: y + 20 } }));
  return {
    text,
    confidence,
    box: { x1: edges[0]!, y1: y, x2: edges[symbols.length]!, y2: y + 20 },
    boxRel1000: [0, 0, 0, 0],
    chars,
  };
}

function line(words: OcrWord[]): OcrLine {
  return {
    text: words.map((w) => w.text).join(" "),
    confidence: Math.min(...words.map((w) => w.confidence)),
    box: {
      x1: Math.min(...words.map((w) => w.box.x1)),
      y1: words[0]!.box.y1,
      x2: Math.max(...words.map((w) => w.box.x2)),
      y2: words[0]!.box.y2,
    },
    boxRel1000: [0, 0, 0, 0],
    words,
    engine: "ppocr",
  };
}

const evenEdges = (x: number, n: number, pitch = 10) => Array.from({ length: n + 1 }, (_, i) => x + i * pitch);
const page = (lines: OcrLine[]): OcrResult => ({ width: 800, height: 600, lines });

describe("findText", () => {
  it("ranks an exact word before the same letters inside a longer word", () => {
    const result = page([
      line([word("app.use(cors({", evenEdges(0, 14)), word("optionsSuccessStatus", evenEdges(150, 20))]),
      line([word("OPTIONS", evenEdges(100, 7), 100)]),
    ]);
    const matches = findText(result, "OPTIONS");
    expect(matches.map((m) => [m.text, m.rank])).toEqual([
      ["OPTIONS", MATCH_RANK.exactWords],
      ["options", MATCH_RANK.insideWord],
    ]);
    // The part of the long word: just its first seven characters' boxes.
    expect(matches[1]!.box).toEqual({ x1: 150, y1: 0, x2: 220, y2: 20 });
  });

  it("boxes one word of a long line, not the line", () => {
    const long = line([
      word("KF", [0, 10, 20]),
      word("MODELLING", evenEdges(30, 9)),
      word("CLAY", evenEdges(130, 4)),
      word("KIDDY", evenEdges(180, 5)),
      word("FISH", evenEdges(240, 4)),
    ]);
    const [match] = findText(page([long]), "clay");
    expect(match).toMatchObject({ text: "CLAY", rank: MATCH_RANK.exactWords, box: { x1: 130, x2: 170 } });
    const [phrase] = findText(page([long]), "Kiddy Fish");
    expect(phrase).toMatchObject({ text: "KIDDY FISH", box: { x1: 180, x2: 280 } });
  });

  it("uses the recogniser's character positions for a part of a word (uneven widths)", () => {
    // "Wilma": a wide W, narrow i and l.
    const [match] = findText(page([line([word("Wilma", [0, 30, 36, 42, 70, 90])])]), "ma");
    expect(match).toMatchObject({ text: "ma", rank: MATCH_RANK.insideWord, box: { x1: 42, x2: 90 } });
  });

  it("prefers the query's case among equal matches, and whole words split differently over parts of words", () => {
    const result = page([
      line([word("signing", evenEdges(0, 7))]),
      line([word("Sign", evenEdges(0, 4), 100), word("in", evenEdges(50, 2), 100)]),
      line([word("SIGNIN", evenEdges(0, 6), 200)]),
    ]);
    const matches = findText(result, "signin");
    expect(matches.map((m) => m.text)).toEqual(["SIGNIN", "Sign in", "signin"]);
    expect(matches.map((m) => m.rank)).toEqual([MATCH_RANK.exactWords, MATCH_RANK.wholeWords, MATCH_RANK.insideWord]);
    expect(findText(result, "Sign in")[0]).toMatchObject({ text: "Sign in", rank: MATCH_RANK.exactWords });
  });

  it("finds a label wrapped over two lines, after matches on one line", () => {
    const result = page([
      line([word("SIGNATURE", evenEdges(5, 9, 7), 700)]),
      line([word("DRINKS", evenEdges(5, 6, 7), 722)]),
      line([word("IN", evenEdges(5, 2, 7), 800), word("SEASON", evenEdges(25, 6, 7), 800)]),
    ]);
    const [match] = findText(result, "SIGNATURE DRINKS");
    expect(match).toMatchObject({ text: "SIGNATURE DRINKS", wrapped: true, box: { x1: 5, y1: 700, x2: 68, y2: 742 } });
    // Lines far apart are not one label.
    expect(findText(result, "DRINKS IN")).toEqual([]);
  });

  it("cuts a plain word box evenly when an engine gives no character boxes", () => {
    const plain: OcrWord = {
      text: "abcd",
      confidence: 1,
      box: { x1: 0, y1: 0, x2: 40, y2: 10 },
      boxRel1000: [0, 0, 0, 0],
    };
    const [match] = findText(page([line([plain])]), "bc");
    expect(match!.box).toEqual({ x1: 10, y1: 0, x2: 30, y2: 10 });
    expect(findText(page([line([plain])]), "!!")).toEqual([]);
  });
});
