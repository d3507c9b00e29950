import { beforeAll, describe, expect, it } from "vitest";
import { maxAbsDiff } from "../support/reference/kernels.js";
import { type ReferencePrefill, referencePrefill, type ReferencePrompt } from "../support/reference/model.js";
import { asStoredWeights } from "../support/reference/stored-weights.js";
import { type ReferenceCheckpoint, loadReferenceCheckpoint } from "../support/reference/weights.js";
import { tinyCheckpoint } from "../support/tiny-checkpoint.js";
import { builtGraphs } from "./built-graphs.js";
import { FP32_BOUND, lastLogits, parityPrompt, relativeError } from "./fixture.js";
import { graphPrefill } from "./graph-pipeline.js";
import { OrtGraphs } from "./ort-graphs.js";

/**
 * fp16 and int4 builds of an fp32 checkpoint (bf16 weights would pass through fp16 unchanged and hide
 * the rounding). Two checks per build:
 *  - against the reference run on the weights as the build stores them: the same 1e-5 bound as fp32,
 *    so the reduced-precision graph computes exactly what it should;
 *  - against the plain float64 reference: the precision the build gives up, bounded as stated below.
 */
const BOUNDS = {
  /** fp16 weights (10-bit mantissa) on std-0.1 weights: measured ~1e-3 here; 5e-3 leaves margin. */
  fp16: 5e-3,
  /**
   * int4 (block 32, asymmetric min/max) on a tiny std-0.1 model is coarse: measured ~0.3 of the largest
   * logit. Bounded at 0.6 only to catch a build that is wrong outright; the tight check is the one
   * against the int4-aware reference.
   */
  int4: 0.6,
} as const;

let ck: ReferenceCheckpoint;
let prompt: ReferencePrompt;
let exact: ReferencePrefill;
let dir: string;

beforeAll(async () => {
  dir = await tinyCheckpoint({ seed: 3, dtype: "fp32" });
  ck = loadReferenceCheckpoint(dir);
  prompt = parityPrompt(ck.config);
  exact = referencePrefill(ck, prompt, undefined, "last");
});

for (const dtype of ["fp16", "int4"] as const) {
  describe(`${dtype} graphs`, () => {
    it(`match the reference on ${dtype}-stored weights within 1e-5, and the exact reference within ${BOUNDS[dtype]}`, async () => {
      const graphs = await OrtGraphs.open(await builtGraphs(dir, { dtype }));
      const graph = await graphPrefill(graphs, ck.config, prompt);
      await graphs.release();
      const vocab = ck.config.text.vocabSize;
      const stored = referencePrefill(asStoredWeights(ck, dtype), prompt, undefined, "last");
      // The stored weights really differ from the checkpoint's, or the first check would prove nothing.
      expect(maxAbsDiff(stored.logits, exact.logits)).toBeGreaterThan(0);
      const tight = {
        features: relativeError(graph.vision!.features, stored.vision!.features),
        deepstack: Math.max(...graph.vision!.deepstack.map((d, j) => relativeError(d, stored.vision!.deepstack[j]))),
        logits: relativeError(lastLogits(graph.logits, vocab), stored.logits),
      };
      const loose = {
        features: relativeError(graph.vision!.features, exact.vision!.features),
        logits: relativeError(lastLogits(graph.logits, vocab), exact.logits),
      };
      console.log(
        `${dtype}: vs stored-weight reference: features ${tight.features.toExponential(2)}, deepstack ${tight.deepstack.toExponential(2)}, last logits ${tight.logits.toExponential(2)}; vs exact reference: features ${loose.features.toExponential(2)}, last logits ${loose.logits.toExponential(2)}`,
      );
      expect(Math.max(tight.features, tight.deepstack, tight.logits)).toBeLessThan(FP32_BOUND);
      expect(loose.logits).toBeLessThan(BOUNDS[dtype]);
    });
  });
}
