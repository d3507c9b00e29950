import { beforeAll, describe, expect, it } from "vitest";
import { type GraphMutation, graphMutationSchema } from "../../src/model/graph/contract.js";
import { type ReferencePrefill, referencePrefill, type ReferencePrompt } from "../support/reference/model.js";
import { MUTATIONS } from "../support/reference/variant.js";
import { type ReferenceCheckpoint, loadReferenceCheckpoint } from "../support/reference/weights.js";
import { builtGraphs } from "./built-graphs.js";
import { FP32_BOUND, parityCheckpoint, lastLogits, parityPrompt, relativeError } from "./fixture.js";
import { type GraphPrefill, graphPrefill } from "./graph-pipeline.js";
import { OrtGraphs } from "./ort-graphs.js";

/**
 * The parity tests can fail: each graph built with one injected fault (contract.ts `GraphMutation`) must
 * break parity with the correct reference. Each must also agree with the reference broken the same way,
 * which shows the fault is exactly the named detail and that the reference models that detail as the
 * graph does.
 */

/** Relative error of every output the parity test checks, by name. */
function parityErrors(graph: GraphPrefill, reference: ReferencePrefill, vocab: number): Record<string, number> {
  const errors: Record<string, number> = {
    image_features: relativeError(graph.vision!.features, reference.vision!.features),
    last_logits: relativeError(lastLogits(graph.logits, vocab), lastLogits(reference.logits, vocab)),
  };
  graph.vision!.deepstack.forEach((d, j) => {
    errors[`deepstack_features_${j}`] = relativeError(d, reference.vision!.deepstack[j]);
  });
  return errors;
}

const format = (errors: Record<string, number>) =>
  Object.entries(errors)
    .map(([k, v]) => `${k} ${v.toExponential(2)}`)
    .join(", ");

let dir: string;
let ck: ReferenceCheckpoint;
let prompt: ReferencePrompt;
let correct: ReferencePrefill;

beforeAll(async () => {
  dir = await parityCheckpoint();
  ck = loadReferenceCheckpoint(dir);
  prompt = parityPrompt(ck.config);
  correct = referencePrefill(ck, prompt, undefined, "last");
});

describe("graph mutations break parity, one detail at a time", () => {
  it("covers every fault the builder can inject", () => {
    expect(Object.keys(MUTATIONS).sort()).toEqual([...graphMutationSchema.options].sort());
  });

  for (const mutation of graphMutationSchema.options as readonly GraphMutation[]) {
    it(mutation, async () => {
      const graphs = await OrtGraphs.open(await builtGraphs(dir, { dtype: "fp32", mutation }));
      expect(graphs.manifest.mutation).toBe(mutation);
      const graph = await graphPrefill(graphs, ck.config, prompt);
      await graphs.release();
      const vocab = ck.config.text.vocabSize;
      const againstCorrect = parityErrors(graph, correct, vocab);
      const broken = referencePrefill(ck, prompt, MUTATIONS[mutation], "last");
      const againstBroken = parityErrors(graph, broken, vocab);
      console.log(
        `${mutation}: vs correct reference: ${format(againstCorrect)}; vs reference broken the same way: ${format(againstBroken)}`,
      );
      expect(Math.max(...Object.values(againstCorrect))).toBeGreaterThan(FP32_BOUND);
      expect(againstCorrect.last_logits).toBeGreaterThan(FP32_BOUND);
      expect(Math.max(...Object.values(againstBroken))).toBeLessThan(FP32_BOUND);
    });
  }
});
