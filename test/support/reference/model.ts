import { ReferenceDecoder, type LogitRows } from "./decoder.js";
import { type RopeIndex, referenceRopeIndex, type VisualGrid } from "./rope-index.js";
import { CORRECT, type ReferenceVariant } from "./variant.js";
import { type ReferenceVisionOutput, referenceVision } from "./vision.js";
import type { ReferenceCheckpoint } from "./weights.js";

/** A prompt as token ids plus the patch rows of its images/videos, in the order their pad tokens appear. */
export interface ReferencePrompt {
  ids: number[];
  pixels: Float64Array;
  grids: VisualGrid[];
}

export interface ReferencePrefill {
  vision: ReferenceVisionOutput | undefined;
  rope: RopeIndex;
  /** [S, vocab] or [1, vocab]. */
  logits: Float64Array;
  /** The decoder with the prompt in its cache, ready for decode steps. */
  decoder: ReferenceDecoder;
}

export function visualTokenIds(ck: ReferenceCheckpoint): Set<number> {
  return new Set([ck.config.imageTokenId, ck.config.videoTokenId]);
}

/** Indexes of the visual (image or video pad) tokens of `ids`, in sequence order. */
export function visualRows(ck: ReferenceCheckpoint, ids: readonly number[]): number[] {
  const visual = visualTokenIds(ck);
  return ids.flatMap((id, i) => (visual.has(id) ? [i] : []));
}

/**
 * Embeds the ids, scatters vision features into the pad positions and DeepStack after the first
 * decoder layers (spec §3.7), with positions from the reference get_rope_index.
 */
export function referencePrefill(
  ck: ReferenceCheckpoint,
  prompt: ReferencePrompt,
  variant: ReferenceVariant = CORRECT,
  rows: LogitRows = "all",
): ReferencePrefill {
  const H = ck.config.text.hiddenSize;
  const vision = prompt.grids.length > 0 ? referenceVision(ck, prompt.pixels, prompt.grids, variant) : undefined;
  const visual = visualRows(ck, prompt.ids);
  if (visual.length !== (vision?.tokens ?? 0)) {
    throw new Error(
      `referencePrefill: ${visual.length} pad tokens but the vision tower made ${vision?.tokens ?? 0} features`,
    );
  }
  const rope = referenceRopeIndex(prompt.ids, prompt.grids, visualTokenIds(ck), ck.config.vision.spatialMergeSize);
  const decoder = new ReferenceDecoder(ck, variant);
  const embeds = decoder.embed(prompt.ids);
  visual.forEach((row, k) => {
    if (vision) embeds.set(vision.features.subarray(k * H, (k + 1) * H), row * H);
  });
  const logits = decoder.forward(
    { embeds, positions: rope.rows, ...(vision ? { deepstack: { rows: visual, features: vision.deepstack } } : {}) },
    rows,
  );
  return { vision, rope, logits, decoder };
}

/** Index of the largest value (first on ties), as greedy decoding picks. */
export function argmax(values: ArrayLike<number>, offset = 0, length = values.length - offset): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}

/**
 * Greedy decoding for `steps` tokens after the prompt, with decode positions `cache_len + rope_delta`
 * on all three rows (spec §4.2). Stops early on none of the eos ids: the tokens are compared as they are.
 */
export function referenceGreedy(
  ck: ReferenceCheckpoint,
  prompt: ReferencePrompt,
  steps: number,
  variant: ReferenceVariant = CORRECT,
): number[] {
  const prefill = referencePrefill(ck, prompt, variant, "last");
  const { decoder, rope } = prefill;
  const out: number[] = [argmax(prefill.logits)];
  while (out.length < steps) {
    const token = out[out.length - 1];
    const p = decoder.cacheLength + rope.ropeDelta;
    const logits = decoder.forward({ embeds: decoder.embed([token]), positions: [[p], [p], [p]] }, "last");
    out.push(argmax(logits));
  }
  return out;
}
