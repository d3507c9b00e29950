import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalEngine } from "../../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../../src/runtime/local/model-files.js";
import type { VisualInput } from "../../../src/runtime/local/visual-inputs.js";
import { maxAbs, maxAbsDiff } from "../../support/reference/kernels.js";
import { referenceGreedy, referencePrefill } from "../../support/reference/model.js";
import { syntheticPrompt, TWO_IMAGES_AND_A_VIDEO } from "../../support/reference/prompt-fixture.js";
import { loadReferenceCheckpoint, type ReferenceCheckpoint } from "../../support/reference/weights.js";
import { tinyBuilt } from "./engine-fixture.js";

/**
 * The engine end to end against the float64 reference forward pass (test/support/reference): two images
 * and a 2-group video, prefilled in small chunks so that chunk borders fall inside visual blocks — image
 * features and DeepStack rows scattered by the engine, positions sliced per chunk — then greedy decoding.
 */
const FP32_BOUND = 1e-5;
let engine: LocalEngine;
let ck: ReferenceCheckpoint;

beforeAll(async () => {
  const { checkpoint, built } = await tinyBuilt("fp32");
  ck = loadReferenceCheckpoint(checkpoint);
  engine = await LocalEngine.open(await loadModelFiles(built, checkpoint), {
    executionProvider: "cpu",
    threads: 1,
    prefillChunkTokens: 5,
  });
}, 300_000);

afterAll(async () => {
  await engine?.close();
});

describe("local engine vs the float64 reference", () => {
  it("prefill logits with two images and a video, and 8 greedy tokens", async () => {
    const prompt = syntheticPrompt(ck.config, TWO_IMAGES_AND_A_VIDEO, 5, 151_000);
    const patchDim = 1536;
    const visuals: VisualInput[] = [];
    let row = 0;
    TWO_IMAGES_AND_A_VIDEO.forEach(({ kind, grid }, index) => {
      const rows = grid.t * grid.h * grid.w;
      visuals.push({
        kind,
        key: `synthetic-${index}`,
        grid: [grid.t, grid.h, grid.w],
        pixelValues: Float32Array.from(prompt.pixels.subarray(row * patchDim, (row + rows) * patchDim)),
      });
      row += rows;
    });
    engine.cache.reset();
    const result = await engine.prefill(prompt.ids, visuals);
    const reference = referencePrefill(ck, prompt, undefined, "last");
    const error = maxAbsDiff(result.logits, reference.logits) / maxAbs(reference.logits);
    console.log(`engine vs reference: last logits relative error ${error.toExponential(2)}`);
    expect(error).toBeLessThan(FP32_BOUND);
    expect(engine.stats.visionRuns).toBe(4); // two images + two video groups

    const tokens: number[] = [];
    let logits = result.logits;
    for (let i = 0; i < 8; i++) {
      let best = 0;
      for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
      tokens.push(best);
      if (i < 7) logits = await engine.step(best);
    }
    expect(tokens).toEqual(referenceGreedy(ck, prompt, 8));
  }, 300_000);
});
