import type { ModelConfig } from "../../src/model/config.js";
import { maxAbs, maxAbsDiff } from "../support/reference/kernels.js";
import type { ReferencePrompt } from "../support/reference/model.js";
import { syntheticPrompt, TWO_IMAGES_AND_A_VIDEO } from "../support/reference/prompt-fixture.js";
import { tinyCheckpoint, tokenizerFixture } from "../support/tiny-checkpoint.js";

/** fp32 graphs must match the float64 reference to this fraction of the largest reference value (issue 4 §3). */
export const FP32_BOUND = 1e-5;

/** Text ids for synthetic prompts stay below the special tokens (151643 and up). */
export const TEXT_ID_LIMIT = 151_000;

/** max |actual − expected| / max |expected|: the measure every parity bound is stated in. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  return maxAbsDiff(actual, expected) / maxAbs(expected);
}

/** The prefill: two images of different sizes and a 2-group video, with text around them. */
export function parityPrompt(config: ModelConfig): ReferencePrompt {
  return syntheticPrompt(config, TWO_IMAGES_AND_A_VIDEO, 5, TEXT_ID_LIMIT);
}

/** The last `vocab` values of a [S, V] logits array. */
export function lastLogits(logits: ArrayLike<number>, vocab: number): number[] {
  return Array.from({ length: vocab }, (_, i) => logits[logits.length - vocab + i]);
}

/**
 * The tiny tied bf16 checkpoint most parity tests share (seed 1). It carries the tokenizer so the local
 * engine can open the same build, and every file asks for the same one so their graph builds are shared.
 */
export function parityCheckpoint(): Promise<string> {
  return tinyCheckpoint({ seed: 1, tokenizer: tokenizerFixture });
}
