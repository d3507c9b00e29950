import {
  type Affine,
  applyToBox,
  applyToPoint,
  type Box,
  boxCenter,
  boxIoU,
  identity,
  toPixelBox,
  toPixelPoint,
} from "../tools/geometry.js";
import { wordRecall } from "../tools/ocr/word-recall.js";
import { answerWordLines, matchText, parseChoice, parseGroundingAnswer } from "./answers.js";
import type { SuiteItem } from "./suite.js";

/**
 * Scores one answer against an item's truth. Boxes and points come from the model in 0–1000 units of the
 * image it names (img_idx; default the truth's image); `frames` says, for every image in the conversation,
 * its size and how its pixels map to the caller's original image — for the loop that includes the crops and
 * zooms the agent made, so a box given on a zoomed view is scored in the original's pixels.
 */

export interface ImageFrame {
  width: number;
  height: number;
  /** Which of the item's images this one shows (its own index for an original). */
  original: number;
  /** From this image's pixels to that original's pixels. */
  toOriginal: Affine;
}

export interface Score {
  correct: boolean;
  /** 1/0, or word recall for `words` items. */
  score: number;
  /** Nothing scorable could be read from the answer (no letter, no box, no answer at all). */
  parseFailure: boolean;
  /** What was read: the letter, the matched text, the box/point in original pixels, the recall. */
  parsed: unknown;
  note?: string;
}

/** The frames of the caller's images alone (the direct baseline, or a loop that made no crops). */
export function originalFrames(sizes: ReadonlyArray<{ width: number; height: number }>): ImageFrame[] {
  return sizes.map((size, index) => ({ ...size, original: index, toOriginal: identity }));
}

const round = (value: number) => Math.round(value * 100) / 100;
const tuple = (box: Box) => [box.x1, box.y1, box.x2, box.y2].map(round);

function failure(note: string, parsed: unknown = null): Score {
  return { correct: false, score: 0, parseFailure: true, parsed, note };
}

export function scoreAnswer(item: SuiteItem, answer: string | null, frames: readonly ImageFrame[]): Score {
  if (answer === null || answer.trim() === "") return failure("no answer");
  const truth = item.truth;
  switch (truth.type) {
    case "choice": {
      const letter = parseChoice(answer, item.options ?? []);
      if (letter === null) return failure("no option letter in the answer");
      const correct = letter === truth.answer;
      return { correct, score: correct ? 1 : 0, parseFailure: false, parsed: letter };
    }
    case "text": {
      const matched = matchText(answer, truth.answers, truth.match);
      return { correct: matched !== null, score: matched !== null ? 1 : 0, parseFailure: false, parsed: matched };
    }
    case "words": {
      const recall = wordRecall(truth.words, answerWordLines(answer));
      const correct = recall.recall >= truth.minRecall;
      return {
        correct,
        score: recall.recall,
        parseFailure: false,
        parsed: { recall: round(recall.recall), found: recall.found, total: recall.total },
      };
    }
    case "box":
    case "point": {
      const items = parseGroundingAnswer(answer);
      const first = truth.type === "box" ? items.find((entry) => entry.kind === "box") : items[0];
      if (!first) return failure(`no ${truth.type === "box" ? "bbox_2d" : "point_2d or bbox_2d"} in the answer`);
      const index = first.imageIndex ?? truth.image;
      const frame = frames[index];
      if (!frame) return failure(`img_idx ${index} names no image in the conversation`);
      const size = { width: frame.width, height: frame.height };
      if (frame.original !== truth.image) {
        return {
          correct: false,
          score: 0,
          parseFailure: false,
          parsed: null,
          note: `the answer is on image ${frame.original}, the target on image ${truth.image}`,
        };
      }
      const targets = truth.boxes.map(([x1, y1, x2, y2]) => ({ x1, y1, x2, y2 }));
      if (truth.type === "box" && first.kind === "box") {
        const [x1, y1, x2, y2] = first.bbox;
        const box = applyToBox(frame.toOriginal, toPixelBox({ x1, y1, x2, y2 }, "rel1000", size));
        const iou = Math.max(...targets.map((target) => boxIoU(box, target)));
        const correct = iou >= truth.iou;
        return { correct, score: correct ? 1 : 0, parseFailure: false, parsed: { box: tuple(box), iou: round(iou) } };
      }
      // ScreenSpot's rule: a point inside the target box; a box answer counts by its centre.
      const local =
        first.kind === "point"
          ? toPixelPoint({ x: first.point[0], y: first.point[1] }, "rel1000", size)
          : boxCenter(
              toPixelBox(
                { x1: first.bbox[0], y1: first.bbox[1], x2: first.bbox[2], y2: first.bbox[3] },
                "rel1000",
                size,
              ),
            );
      const point = applyToPoint(frame.toOriginal, local);
      const correct = targets.some(
        (box) => point.x >= box.x1 && point.x <= box.x2 && point.y >= box.y1 && point.y <= box.y2,
      );
      return {
        correct,
        score: correct ? 1 : 0,
        parseFailure: false,
        parsed: { point: [round(point.x), round(point.y)] },
      };
    }
  }
}
