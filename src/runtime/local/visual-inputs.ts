import { SquintError } from "../../errors.js";
import type { GridThw } from "../../model/positions.js";

/**
 * One image or video as the engine takes it: already preprocessed (patches in 2×2-block order) and named
 * by a content key, so that a later request showing the same pixels at the same place can reuse the cache.
 */
export interface VisualInput {
  kind: "image" | "video";
  /** Identity of the pixels (and of the preprocessing): equal keys must mean equal patches. */
  key: string;
  /** Patch grid [t, h, w]; for a video t is the number of 2-frame groups. */
  grid: GridThw;
  /** `[t·h·w, patchInput]` rows, segment after segment. */
  pixelValues: Float32Array;
}

export interface VisualTokenMap {
  /** Per position: -1 for text, else the index into `visuals`. */
  owner: Int32Array;
  /** Per position: the row of that visual's features (meaningless for text). */
  row: Int32Array;
}

export function visualTokenCount(visual: VisualInput, merge: number): number {
  const [t, h, w] = visual.grid;
  return (t * h * w) / (merge * merge);
}

/**
 * Assigns every image/video pad token of `ids` to its visual and feature row, in sequence order (spec §13.4:
 * features follow the pads' order). Throws when the pads and the visuals do not line up.
 */
export function mapVisualTokens(
  ids: ArrayLike<number>,
  visuals: readonly VisualInput[],
  tokens: { imageTokenId: number; videoTokenId: number; merge: number },
): VisualTokenMap {
  const owner = new Int32Array(ids.length).fill(-1);
  const row = new Int32Array(ids.length);
  let current = 0;
  let used = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id !== tokens.imageTokenId && id !== tokens.videoTokenId) continue;
    const visual = visuals[current];
    const kind = id === tokens.imageTokenId ? "image" : "video";
    if (visual === undefined || visual.kind !== kind) {
      throw new SquintError(
        "INVALID_ARGUMENT",
        `Token ${i} is a ${kind} pad but the ${current + 1}th visual input is ${visual ? `a ${visual.kind}` : "missing"}.`,
        {
          hint: "Give one visual input per image/video placeholder, in prompt order, each expanded to its token count.",
        },
      );
    }
    owner[i] = current;
    row[i] = used++;
    if (used === visualTokenCount(visual, tokens.merge)) {
      current++;
      used = 0;
    }
  }
  if (current !== visuals.length || used !== 0) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `The prompt's pad tokens cover ${current} complete visual inputs, but ${visuals.length} were given.`,
      { hint: "Expand each placeholder to t·h·w/merge² pad tokens (expandVisionPlaceholders does this)." },
    );
  }
  return { owner, row };
}
