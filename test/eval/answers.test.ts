import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { matchText, normaliseText, parseChoice } from "../../src/eval/answers.js";
import { optionLetter } from "../../src/eval/prompts.js";
import { type ImageFrame, originalFrames, scoreAnswer } from "../../src/eval/scoring.js";
import type { SuiteItem } from "../../src/eval/suite.js";
import { cropTransform } from "../../src/tools/geometry.js";

const word = fc.stringMatching(/^[a-z]{3,10}$/);
const options = fc.uniqueArray(word, { minLength: 2, maxLength: 8 });

describe("answer reading, properties", () => {
  it("every usual way of writing option k's letter reads as k", () => {
    fc.assert(
      fc.property(options, fc.nat(), fc.integer({ min: 0, max: 6 }), (list, pick, form) => {
        const letter = optionLetter(pick % list.length);
        const text = [
          letter,
          `(${letter})`,
          `${letter}.`,
          `${letter}) ${list[pick % list.length]}`,
          `Answer: ${letter}`,
          `The answer is (${letter}).`,
          `After looking closer, (${letter}) fits.`,
        ][form] as string;
        expect(parseChoice(text, list)).toBe(letter);
      }),
    );
  });

  it("an option's own text reads as its letter; a letter that is not an option is never read", () => {
    fc.assert(
      fc.property(options, fc.nat(), (list, pick) => {
        const index = pick % list.length;
        expect(parseChoice(` ${(list[index] as string).toUpperCase()}. `, list)).toBe(optionLetter(index));
        expect(parseChoice(optionLetter(list.length), list)).toBeNull();
      }),
    );
  });

  it("normalised text ignores case, punctuation and spacing, and nothing else", () => {
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 4 }), (words) => {
        const truth = words.join(" ");
        expect(matchText(`  ${words.join(" ,  ").toUpperCase()}!`, [truth], "normalised")).toBe(truth);
        expect(matchText(`${truth}x`, [truth], "normalised")).toBeNull();
        expect(normaliseText(truth)).toBe(truth);
      }),
    );
  });
});

describe("box scoring through a zoomed crop, property", () => {
  const item = (box: [number, number, number, number]): SuiteItem => ({
    id: "x",
    images: ["/a.png"],
    question: "q",
    truth: { type: "box", boxes: [box], image: 0, iou: 0.5 },
    category: "all",
    origin: { file: "s.jsonl", line: 1 },
  });

  it("a target given exactly on any crop (img_idx 1, 0–1000 of the crop) scores IoU ≈ 1 on the original", () => {
    fc.assert(
      fc.property(
        fc.record({
          width: fc.integer({ min: 200, max: 8000 }),
          height: fc.integer({ min: 200, max: 8000 }),
          // The crop region and the target inside it, as fractions.
          crop: fc.tuple(
            fc.double({ min: 0, max: 0.5, noNaN: true }),
            fc.double({ min: 0, max: 0.5, noNaN: true }),
            fc.double({ min: 0.3, max: 0.5, noNaN: true }),
            fc.double({ min: 0.3, max: 0.5, noNaN: true }),
          ),
          target: fc.tuple(
            fc.double({ min: 0.1, max: 0.4, noNaN: true }),
            fc.double({ min: 0.1, max: 0.4, noNaN: true }),
            fc.double({ min: 0.6, max: 0.9, noNaN: true }),
            fc.double({ min: 0.6, max: 0.9, noNaN: true }),
          ),
          zoom: fc.double({ min: 0.5, max: 4, noNaN: true }),
        }),
        ({ width, height, crop, target, zoom }) => {
          const region = {
            left: crop[0] * width,
            top: crop[1] * height,
            width: crop[2] * width,
            height: crop[3] * height,
          };
          const output = {
            width: Math.max(1, Math.round(region.width * zoom)),
            height: Math.max(1, Math.round(region.height * zoom)),
          };
          const frame: ImageFrame = { ...output, original: 0, toOriginal: cropTransform(region, output) };
          const truth: [number, number, number, number] = [
            region.left + target[0] * region.width,
            region.top + target[1] * region.height,
            region.left + target[2] * region.width,
            region.top + target[3] * region.height,
          ];
          const rel = target.map((value) => Math.round(value * 1000));
          const answer = `{"bbox_2d": [${rel.join(", ")}], "img_idx": 1}`;
          const score = scoreAnswer(item(truth), answer, [...originalFrames([{ width, height }]), frame]);
          expect(score.correct).toBe(true);
          expect((score.parsed as { iou: number }).iou).toBeGreaterThan(0.95);
        },
      ),
    );
  });
});
