import { beforeAll, describe, expect, it } from "vitest";
import { ropePositions } from "../../src/model/positions.js";
import {
  type ReferencePrefill,
  referenceGreedy,
  referencePrefill,
  type ReferencePrompt,
} from "../support/reference/model.js";
import { type ReferenceCheckpoint, loadReferenceCheckpoint } from "../support/reference/weights.js";
import { tinyCheckpoint } from "../support/tiny-checkpoint.js";
import { builtGraphs } from "./built-graphs.js";
import { FP32_BOUND, parityCheckpoint, lastLogits, parityPrompt, relativeError } from "./fixture.js";
import { type GraphPrefill, graphGreedyFrom, graphPrefill } from "./graph-pipeline.js";
import { OrtGraphs } from "./ort-graphs.js";

/**
 * Issue 4 §3 on the tiny tied bf16 checkpoint (std 0.1): the fp32 graphs against the float64 reference
 * for one prefill with two images of different sizes and a video, then 32 greedy tokens.
 */
let ck: ReferenceCheckpoint;
let prompt: ReferencePrompt;
let graphs: OrtGraphs;
let reference: ReferencePrefill;
let graph: GraphPrefill;

beforeAll(async () => {
  const dir = await parityCheckpoint();
  ck = loadReferenceCheckpoint(dir);
  prompt = parityPrompt(ck.config);
  graphs = await OrtGraphs.open(await builtGraphs(dir, { dtype: "fp32" }));
  reference = referencePrefill(ck, prompt);
  graph = await graphPrefill(graphs, ck.config, prompt);
});

describe("fp32 graphs vs the float64 reference (tied tiny checkpoint)", () => {
  it("the prompt's positions from src/model/positions.ts equal the reference get_rope_index", () => {
    const images = prompt.grids.slice(0, 2).map((g) => [g.t, g.h, g.w] as const);
    const videos = prompt.grids.slice(2).map((g) => [g.t, g.h, g.w] as const);
    const src = ropePositions(prompt.ids, {
      imageGrids: images,
      videoGrids: videos,
      imageTokenId: ck.config.imageTokenId,
      videoTokenId: ck.config.videoTokenId,
      visionStartTokenId: ck.config.visionStartTokenId,
      spatialMergeSize: ck.config.vision.spatialMergeSize,
    });
    expect(src.ropeDelta).toBe(reference.rope.ropeDelta);
    for (let a = 0; a < 3; a++) expect(Array.from(src.positions[a])).toEqual(reference.rope.rows[a]);
  });

  it("vision features match within 1e-5 of the largest feature", () => {
    expect(graph.vision?.tokens).toBe(20);
    const error = relativeError(graph.vision!.features, reference.vision!.features);
    console.log(`fp32 vision features: relative error ${error.toExponential(2)}`);
    expect(error).toBeLessThan(FP32_BOUND);
  });

  it("each DeepStack output matches within 1e-5 of its largest value", () => {
    expect(graph.vision!.deepstack).toHaveLength(3);
    graph.vision!.deepstack.forEach((actual, j) => {
      const error = relativeError(actual, reference.vision!.deepstack[j]);
      console.log(`fp32 deepstack_features_${j}: relative error ${error.toExponential(2)}`);
      expect(error).toBeLessThan(FP32_BOUND);
    });
  });

  it("prefill logits at every position match within 1e-5 of the largest logit", () => {
    expect(graph.logits).toHaveLength(reference.logits.length);
    const error = relativeError(graph.logits, reference.logits);
    console.log(`fp32 prefill logits (${prompt.ids.length} positions): relative error ${error.toExponential(2)}`);
    expect(error).toBeLessThan(FP32_BOUND);
  });

  it("greedy decoding for 32 tokens gives the reference's token sequence", async () => {
    const fromGraphs = await graphGreedyFrom(graphs, graph, 32);
    const fromReference = referenceGreedy(ck, prompt, 32);
    // A model that repeats one token would make this check vacuous; std-0.1 weights do not.
    expect(new Set(fromReference).size).toBeGreaterThan(4);
    expect(fromGraphs.tokens).toEqual(fromReference);
  });
});

describe("fp32 graphs vs the reference (untied head, last-position logits)", () => {
  it("the last position's logits match within 1e-5, read through lm_head.weight", async () => {
    const dir = await tinyCheckpoint({ seed: 2, untied: true });
    const untied = loadReferenceCheckpoint(dir);
    expect(untied.config.tieWordEmbeddings).toBe(false);
    const lastOnly = await OrtGraphs.open(await builtGraphs(dir, { dtype: "fp32", lastTokenLogits: true }));
    const p = parityPrompt(untied.config);
    const g = await graphPrefill(lastOnly, untied.config, p);
    const r = referencePrefill(untied, p, undefined, "last");
    expect(g.logits).toHaveLength(untied.config.text.vocabSize);
    const error = relativeError(g.logits, lastLogits(r.logits, untied.config.text.vocabSize));
    console.log(`fp32 untied last-position logits: relative error ${error.toExponential(2)}`);
    expect(error).toBeLessThan(FP32_BOUND);
    await lastOnly.release();
  });
});

describe("fp32 graphs with the GroupQueryAttention decoder", () => {
  it("prefill logits match within 1e-5 and 32 greedy tokens equal the reference", async () => {
    const dir = await parityCheckpoint();
    const gqa = await OrtGraphs.open(await builtGraphs(dir, { dtype: "fp32", attention: "gqa" }));
    expect(gqa.manifest.attention).toBe("gqa");
    const g = await graphPrefill(gqa, ck.config, prompt);
    const error = relativeError(g.logits, reference.logits);
    console.log(`fp32 gqa prefill logits: relative error ${error.toExponential(2)}`);
    expect(error).toBeLessThan(FP32_BOUND);
    expect((await graphGreedyFrom(gqa, g, 32)).tokens).toEqual(referenceGreedy(ck, prompt, 32));
    await gqa.release();
  });
});

describe("fp32 vision encoder, fused contrib-op attention vs the plain standard-op form", () => {
  it("both match the reference within 1e-5, and each other within 1e-5 (features and DeepStack)", async () => {
    const dir = await parityCheckpoint();
    const plain = await OrtGraphs.open(await builtGraphs(dir, { dtype: "fp32", visionAttention: "plain" }));
    expect(plain.manifest.visionAttention).toBe("plain");
    expect(graphs.manifest.visionAttention).toBe("fused");
    const p = await graphPrefill(plain, ck.config, prompt);
    const plainError = relativeError(p.vision!.features, reference.vision!.features);
    const between = relativeError(graph.vision!.features, p.vision!.features);
    console.log(
      `fp32 plain vision features: relative error ${plainError.toExponential(2)}; fused vs plain ${between.toExponential(2)}`,
    );
    expect(plainError).toBeLessThan(FP32_BOUND);
    expect(between).toBeLessThan(FP32_BOUND);
    // Different kernels (tiled softmax, fused rotary): equal to rounding, not bit for bit.
    expect(between).toBeGreaterThan(0);
    p.vision!.deepstack.forEach((actual, j) => {
      expect(relativeError(graph.vision!.deepstack[j]!, actual)).toBeLessThan(FP32_BOUND);
    });
    await plain.release();
  });
});
