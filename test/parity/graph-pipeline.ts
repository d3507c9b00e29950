import type { ModelConfig } from "../../src/model/config.js";
import { argmax, type ReferencePrompt } from "../support/reference/model.js";
import { type RopeIndex, referenceRopeIndex } from "../support/reference/rope-index.js";
import type { GraphCache, GraphVisionOutput, OrtGraphs } from "./ort-graphs.js";

/**
 * The spec §11 loop over the ONNX graphs: vision per segment, embed, scatter the features into the pad
 * rows, DeepStack rows for the decoder, positions from get_rope_index. Positions are inputs, not graph
 * math, so both sides of a parity check take them from the same function.
 */
export interface GraphPrefill {
  vision: GraphVisionOutput | undefined;
  rope: RopeIndex;
  logits: Float32Array;
  cache: GraphCache;
}

export function visualSet(config: ModelConfig): Set<number> {
  return new Set([config.imageTokenId, config.videoTokenId]);
}

/** Feeds `newIds` (a suffix of `allIds`) on top of `cache`, with positions computed over all of `allIds`. */
export async function graphAppend(
  graphs: OrtGraphs,
  config: ModelConfig,
  allIds: readonly number[],
  allGrids: ReferencePrompt["grids"],
  newIds: readonly number[],
  newPixels: Float64Array,
  newGrids: ReferencePrompt["grids"],
  cache: GraphCache,
): Promise<GraphPrefill> {
  const H = config.text.hiddenSize;
  const visual = visualSet(config);
  const rope = referenceRopeIndex(allIds, allGrids, visual, config.vision.spatialMergeSize);
  const start = allIds.length - newIds.length;
  const vision =
    newGrids.length > 0
      ? await graphs.encode(Float32Array.from(newPixels), newGrids, config.vision.numPositionEmbeddings)
      : undefined;
  const embeds = await graphs.embed(newIds);
  const rows = newIds.flatMap((id, i) => (visual.has(id) ? [i] : []));
  if (rows.length !== (vision?.tokens ?? 0))
    throw new Error(`graph prefill: ${rows.length} pad tokens, ${vision?.tokens ?? 0} features`);
  rows.forEach((r, k) => {
    if (vision) embeds.set(vision.features.subarray(k * H, (k + 1) * H), r * H);
  });
  const positions = [rope.rows[0].slice(start), rope.rows[1].slice(start), rope.rows[2].slice(start)] as const;
  const out = await graphs.decode(embeds, positions, cache, vision ? { rows, features: vision.deepstack } : undefined);
  return { vision, rope, logits: out.logits, cache: out.cache };
}

export function graphPrefill(graphs: OrtGraphs, config: ModelConfig, prompt: ReferencePrompt): Promise<GraphPrefill> {
  return graphAppend(
    graphs,
    config,
    prompt.ids,
    prompt.grids,
    prompt.ids,
    prompt.pixels,
    prompt.grids,
    graphs.emptyCache(),
  );
}

/** The last row of a logits output, whether the graph emits every row or only the last. */
export function lastRow(logits: Float32Array, vocab: number): Float32Array {
  return logits.subarray(logits.length - vocab);
}

/** Greedy decode `steps` tokens from a prefill's last logits; decode positions are cache_len + rope_delta. */
export async function graphGreedyFrom(
  graphs: OrtGraphs,
  prefill: GraphPrefill,
  steps: number,
): Promise<{ tokens: number[]; cache: GraphCache }> {
  const vocab = graphs.manifest.model.vocabSize;
  const tokens = [argmax(lastRow(prefill.logits, vocab))];
  let cache = prefill.cache;
  while (tokens.length < steps) {
    const p = cache.length + prefill.rope.ropeDelta;
    const out = await graphs.decode(await graphs.embed([tokens[tokens.length - 1]]), [[p], [p], [p]], cache);
    cache = out.cache;
    tokens.push(argmax(lastRow(out.logits, vocab)));
  }
  // The last token is not fed yet: the cache holds the prompt and every token but the last.
  return { tokens, cache };
}
