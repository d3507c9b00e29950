import { describe, expect, it } from "vitest";
import type { GraphMutation } from "../../../src/model/graph/contract.js";
import type { ReferenceDecoder } from "./decoder.js";
import { maxAbs, maxAbsDiff } from "./kernels.js";
import { argmax, referenceGreedy, referencePrefill } from "./model.js";
import { syntheticPrompt, TWO_IMAGES_AND_A_VIDEO } from "./prompt-fixture.js";
import { randomCheckpoint, tinyConfigJson } from "./random-checkpoint.js";
import { referenceRopeIndex } from "./rope-index.js";
import { CORRECT, MUTATIONS } from "./variant.js";

const ck = randomCheckpoint(tinyConfigJson(), 3, 0.1);
const prompt = syntheticPrompt(ck.config, TWO_IMAGES_AND_A_VIDEO, 5, 250);
const correct = referencePrefill(ck, prompt);
const scale = maxAbs(correct.logits);

describe("reference sensitivity: each of the five mutations moves the logits far beyond 1e-5", () => {
  for (const name of Object.keys(MUTATIONS) as GraphMutation[]) {
    it(name, () => {
      const mutated = referencePrefill(ck, prompt, MUTATIONS[name]);
      const relative = maxAbsDiff(mutated.logits, correct.logits) / scale;
      console.log(`reference mutation ${name}: max|Δlogit| / max|logit| = ${relative.toExponential(2)}`);
      // Ten times the fp32 parity bound: a mutation that moved the logits less could hide under it.
      expect(relative).toBeGreaterThan(1e-4);
    });
  }
});

describe("reference prompt plumbing", () => {
  it("the prompt has 6 + 6 image tokens and 2×4 video tokens, all fed from the vision tower", () => {
    expect(correct.vision?.tokens).toBe(20);
    expect(prompt.ids.filter((id) => id === ck.config.imageTokenId)).toHaveLength(12);
    expect(prompt.ids.filter((id) => id === ck.config.videoTokenId)).toHaveLength(8);
  });

  it("greedy decoding with the KV cache equals recomputing the whole sequence each step", () => {
    const steps = 6;
    const cached = referenceGreedy(ck, prompt, steps);
    const ids = [...prompt.ids];
    const recomputed: number[] = [];
    for (let k = 0; k < steps; k++) {
      const full = referencePrefill(ck, { ...prompt, ids }, CORRECT, "last");
      const next = argmax(full.logits);
      recomputed.push(next);
      ids.push(next);
    }
    expect(cached).toEqual(recomputed);
  });

  it("decode positions cache_len + rope_delta equal get_rope_index over the longer sequence (spec §4.2)", () => {
    const longer = [...prompt.ids, 1, 2, 3];
    const index = referenceRopeIndex(longer, prompt.grids, new Set([250, 251]), 2);
    for (let k = 0; k < 3; k++) {
      const p = prompt.ids.length + k + correct.rope.ropeDelta;
      expect([
        index.rows[0][prompt.ids.length + k],
        index.rows[1][prompt.ids.length + k],
        index.rows[2][prompt.ids.length + k],
      ]).toEqual([p, p, p]);
    }
  });

  it("appending a turn through the cache equals recomputing the whole conversation", () => {
    // Turn 1 = the first image; turn 2 = a generated token, more text and the second image.
    const first = syntheticPrompt(ck.config, TWO_IMAGES_AND_A_VIDEO.slice(0, 1), 8, 250);
    const second = syntheticPrompt(ck.config, TWO_IMAGES_AND_A_VIDEO.slice(1, 2), 9, 250);
    const turn1 = referencePrefill(ck, first, CORRECT, "last");
    const reply = argmax(turn1.logits);
    const newIds = [reply, ...second.ids];
    const allIds = [...first.ids, ...newIds];
    const grids = [...first.grids, ...second.grids];
    const full = referencePrefill(
      ck,
      { ids: allIds, pixels: Float64Array.from([...first.pixels, ...second.pixels]), grids },
      CORRECT,
    );

    const rope = referenceRopeIndex(allIds, grids, new Set([250, 251]), 2);
    const start = first.ids.length;
    const secondVision = referencePrefill(ck, second, CORRECT).vision!;
    const dec: ReferenceDecoder = turn1.decoder;
    const embeds = dec.embed(newIds);
    const rows = newIds.flatMap((id, i) => (id === 250 || id === 251 ? [i] : []));
    rows.forEach((r, k) => {
      embeds.set(secondVision.features.subarray(k * 64, (k + 1) * 64), r * 64);
    });
    const tail = dec.forward({
      embeds,
      positions: [rope.rows[0].slice(start), rope.rows[1].slice(start), rope.rows[2].slice(start)],
      deepstack: { rows, features: secondVision.deepstack },
    });
    expect(maxAbsDiff(tail, full.logits.subarray(start * 256)) / maxAbs(full.logits)).toBeLessThan(1e-12);
  });
});
