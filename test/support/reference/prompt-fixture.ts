import type { ModelConfig } from "../../../src/model/config.js";
import { seededNormal } from "./random-checkpoint.js";
import type { ReferencePrompt } from "./model.js";
import type { VisualGrid } from "./rope-index.js";

/** One visual input of a synthetic prompt. */
export interface PromptVisual {
  kind: "image" | "video";
  grid: VisualGrid;
}

/**
 * A synthetic prompt: a few text tokens, then each visual as `<|vision_start|> pads <|vision_end|>`
 * (a video as one such run per 2-frame group, with a "timestamp" text token before each), then a text
 * tail. Pixel rows are N(0, 0.5²) so that every patch differs; text ids stay below `textIdLimit`.
 */
export function syntheticPrompt(
  config: ModelConfig,
  visuals: readonly PromptVisual[],
  seed: number,
  textIdLimit: number,
): ReferencePrompt {
  const normal = seededNormal(seed);
  const textId = () => Math.floor(((normal() + 4) / 8) * textIdLimit) % textIdLimit;
  const v = config.vision;
  const patchDim = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
  const merge = v.spatialMergeSize ** 2;
  const ids: number[] = [textId(), textId(), textId()];
  let patches = 0;
  for (const { kind, grid } of visuals) {
    const pad = kind === "image" ? config.imageTokenId : config.videoTokenId;
    for (let t = 0; t < grid.t; t++) {
      if (kind === "video") ids.push(textId());
      ids.push(
        config.visionStartTokenId,
        ...new Array<number>((grid.h * grid.w) / merge).fill(pad),
        config.visionEndTokenId,
      );
    }
    ids.push(textId());
    patches += grid.t * grid.h * grid.w;
  }
  ids.push(textId(), textId());
  const pixels = Float64Array.from({ length: patches * patchDim }, () => 0.5 * normal());
  return { ids, pixels, grids: visuals.map((x) => x.grid) };
}

/** Two images of different sizes and a 2-group video: the prompt the parity issue asks for. */
export const TWO_IMAGES_AND_A_VIDEO: PromptVisual[] = [
  { kind: "image", grid: { t: 1, h: 4, w: 6 } },
  { kind: "image", grid: { t: 1, h: 6, w: 4 } },
  { kind: "video", grid: { t: 2, h: 4, w: 4 } },
];
