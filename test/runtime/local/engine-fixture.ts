import type { TinyCheckpointOptions } from "../../../src/model/checkpoint/tiny.js";
import type { BuildDtype } from "../../../src/model/graph/contract.js";
import { builtGraphs } from "../../parity/built-graphs.js";
import { tinyCheckpoint, tokenizerFixture } from "../../support/tiny-checkpoint.js";

export { tokenizerFixture };

/**
 * A tiny random checkpoint *with* a tokenizer (the engine renders and tokenizes real conversations) and its
 * graphs, both made once under test/.generated/ by the shared helpers. The default is the parity tests'
 * checkpoint (seed 1), so the engine and parity tests share one build.
 */
export async function tinyBuilt(
  dtype: BuildDtype = "fp32",
  options: Omit<TinyCheckpointOptions, "tokenizer"> = { seed: 1 },
): Promise<{ checkpoint: string; built: string }> {
  const checkpoint = await tinyCheckpoint({ ...options, tokenizer: tokenizerFixture });
  const built = await builtGraphs(checkpoint, { dtype });
  return { checkpoint, built };
}
