import { describe, expect, it } from "vitest";
import { matchText, parseChoice } from "../../src/eval/answers.js";
import { type ImageFrame, originalFrames, scoreAnswer } from "../../src/eval/scoring.js";
import type { SuiteItem, Truth } from "../../src/eval/suite.js";
import { cropTransform } from "../../src/tools/geometry.js";

const item = (truth: Truth, options?: string[]): SuiteItem => ({
  id: "x",
  images: ["/a.png"],
  question: "q",
  ...(options ? { options } : {}),
  truth,
  category: "all",
  origin: { file: "s.jsonl", line: 1 },
});

const OPTIONS = ["red", "green", "blue", "yellow"];

describe("reading a choice letter", () => {
  it.each([
    ["B", "B"],
    ["(C)", "C"],
    ["D.", "D"],
    ["B) green", "B"],
    ["The answer is (C).", "C"],
    ["Answer: D", "D"],
    ["green", "B"],
    ["I think the glass holds blue liquid", "C"],
    ["After zooming in, option (B) is right.", "B"],
  ])("%j → %s", (answer, letter) => {
    expect(parseChoice(answer, OPTIONS)).toBe(letter);
  });

  it.each([
    ["A red cup and a blue cup", null], // an article and two option texts: ambiguous
    ["E", null], // not an option
    ["(A) or (B)", null],
    ["", null],
  ])("%j is a parse failure", (answer, letter) => {
    expect(parseChoice(answer, OPTIONS)).toBe(letter);
  });
});

describe("scoring", () => {
  it("choice: right, wrong, parse failure, no answer", () => {
    const truth: Truth = { type: "choice", answer: "B" };
    expect(scoreAnswer(item(truth, OPTIONS), "B", [])).toMatchObject({ correct: true, parsed: "B" });
    expect(scoreAnswer(item(truth, OPTIONS), "C", [])).toMatchObject({ correct: false, parseFailure: false });
    expect(scoreAnswer(item(truth, OPTIONS), "no idea", [])).toMatchObject({ correct: false, parseFailure: true });
    expect(scoreAnswer(item(truth, OPTIONS), null, [])).toMatchObject({ parseFailure: true, note: "no answer" });
  });

  it("text: normalised by default (case, punctuation, a trailing full stop, the last line), exact on request", () => {
    const truth: Truth = { type: "text", answers: ["Hop Inn"], match: "normalised" };
    expect(scoreAnswer(item(truth), "hop inn.", []).correct).toBe(true);
    expect(scoreAnswer(item(truth), "The sign is large.\nHop-Inn", []).correct).toBe(true);
    expect(scoreAnswer(item(truth), "Final answer: HOP INN", []).correct).toBe(true);
    expect(scoreAnswer(item(truth), "the Hop Inn pub", []).correct).toBe(false);
    expect(matchText("hop inn", ["Hop Inn"], "exact")).toBeNull();
    expect(matchText(" Hop Inn ", ["Hop Inn"], "exact")).toBe("Hop Inn");
  });

  it("box: 0–1000 on the original maps to its pixels; IoU ≥ 0.5 counts", () => {
    const truth: Truth = { type: "box", boxes: [[100, 100, 300, 200]], image: 0, iou: 0.5 };
    const frames = originalFrames([{ width: 1000, height: 500 }]);
    // [100, 200, 300, 400] of 1000×500 → x 100–300, y 100–200: exact.
    const exact = scoreAnswer(item(truth), '```json\n{"bbox_2d": [100, 200, 300, 400]}\n```', frames);
    expect(exact).toMatchObject({ correct: true, parsed: { box: [100, 100, 300, 200], iou: 1 } });
    // Shifted by half its width: IoU = 100·100 / (2·20000 − 10000) = 1/3.
    const shifted = scoreAnswer(item(truth), '{"bbox_2d": [200, 200, 400, 400]}', frames);
    expect(shifted.correct).toBe(false);
    expect((shifted.parsed as { iou: number }).iou).toBeCloseTo(1 / 3, 2);
    expect(scoreAnswer(item(truth), "somewhere on the left", frames).parseFailure).toBe(true);
  });

  it("box on a zoomed crop (img_idx 1) is scored in the original's pixels", () => {
    const truth: Truth = { type: "box", boxes: [[600, 240, 720, 400]], image: 0, iou: 0.5 };
    // Crop of x 600–720, y 240–400 of the original, zoomed to 480×640.
    const crop: ImageFrame = {
      width: 480,
      height: 640,
      original: 0,
      toOriginal: cropTransform({ left: 600, top: 240, width: 120, height: 160 }, { width: 480, height: 640 }),
    };
    const frames = [...originalFrames([{ width: 1200, height: 800 }]), crop];
    const score = scoreAnswer(item(truth), '{"bbox_2d": [0, 0, 1000, 1000], "img_idx": 1}', frames);
    expect(score.correct).toBe(true);
    const box = (score.parsed as { box: number[] }).box;
    expect(box.map(Math.round)).toEqual([600, 240, 720, 400]);
    // The same numbers without img_idx are read on image 0: far off.
    expect(scoreAnswer(item(truth), '{"bbox_2d": [0, 0, 1000, 1000]}', frames).correct).toBe(false);
    expect(scoreAnswer(item(truth), '{"bbox_2d": [0, 0, 10, 10], "img_idx": 7}', frames).parseFailure).toBe(true);
  });

  it("point: ScreenSpot's rule (inside the box), a box answer counts by its centre", () => {
    const truth: Truth = { type: "point", boxes: [[40, 40, 60, 50]], image: 0 };
    const frames = originalFrames([{ width: 100, height: 100 }]);
    expect(scoreAnswer(item(truth), '{"point_2d": [500, 450]}', frames).correct).toBe(true);
    expect(scoreAnswer(item(truth), '{"point_2d": [650, 450]}', frames).correct).toBe(false);
    expect(scoreAnswer(item(truth), '{"bbox_2d": [400, 400, 600, 500]}', frames)).toMatchObject({
      correct: true,
      parsed: { point: [50, 45] },
    });
  });

  it("words: recall is the score, correct at the item's minimum recall", () => {
    const truth: Truth = { type: "words", words: ["EXIT", "STAGE", "door", "left"], minRecall: 0.5 };
    const half = scoreAnswer(item(truth), "exit\nstage", []);
    expect(half).toMatchObject({ correct: true, score: 0.5, parsed: { found: 2, total: 4 } });
    expect(scoreAnswer(item(truth), "exit", []).correct).toBe(false);
  });
});
