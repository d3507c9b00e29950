import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalEngine } from "../../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../../src/runtime/local/model-files.js";
import type { VisualInput } from "../../../src/runtime/local/visual-inputs.js";
import { builtGraphs } from "../../parity/built-graphs.js";
import { FP32_BOUND, parityCheckpoint, relativeError, TEXT_ID_LIMIT } from "../../parity/fixture.js";
import { argmax } from "../../support/reference/model.js";
import { syntheticPrompt } from "../../support/reference/prompt-fixture.js";
import { loadReferenceCheckpoint } from "../../support/reference/weights.js";

/**
 * Issue 9, "no copy of the KV cache per step": an "append" decoder reads the cache from buffers the engine
 * owns (never written or returned by ORT) and returns only the new positions, which the engine writes in.
 * It must give the plain build's logits over a prefill and cached steps, through a capacity growth, with
 * the very same buffers between growths, and decoder outputs of S positions only.
 */
const STEPS = 8;

let plain: LocalEngine;
let append: LocalEngine;
let prompt: { ids: number[]; visuals: VisualInput[] };

beforeAll(async () => {
  const checkpoint = await parityCheckpoint();
  const config = loadReferenceCheckpoint(checkpoint).config;
  const p = syntheticPrompt(config, [{ kind: "image", grid: { t: 1, h: 4, w: 6 } }], 31, TEXT_ID_LIMIT);
  prompt = {
    ids: p.ids,
    visuals: [{ kind: "image", key: "a", grid: [1, 4, 6], pixelValues: Float32Array.from(p.pixels) }],
  };
  const open = async (
    attention: "plain" | "append",
    extra: { cacheCapacityTokens?: number; prefillChunkTokens?: number } = {},
  ) =>
    LocalEngine.open(
      await loadModelFiles(
        await builtGraphs(checkpoint, { dtype: "fp32", ...(attention === "plain" ? {} : { attention }) }),
        checkpoint,
      ),
      { executionProvider: "cpu", threads: 1, ...extra },
    );
  plain = await open("plain");
  // Room for the prompt and 3 steps: the 4th step must grow the buffers. Prefill in chunks of 5, so later
  // chunks attend to the cache and causally to themselves at once.
  append = await open("append", { cacheCapacityTokens: prompt.ids.length + 3, prefillChunkTokens: 5 });
});

afterAll(async () => {
  await plain?.close();
  await append?.close();
});

describe("append decoder through the local engine (CPU)", () => {
  it("matches the plain build over a prefill and 8 cached steps, through one capacity growth", async () => {
    expect(append.files.manifest.attention).toBe("append");
    expect(append.providers.decoder).toBe("cpu");
    // The decoder's cache outputs are the new positions only, positions-first ([B, S, kvh, hd]), and its
    // cache inputs the cached positions ([B, cached, kvh, hd]: the engine feeds a prefix view, not the capacity).
    expect(append.files.manifest.kvLayout).toBe("positions-first");
    const outputs = append.files.manifest.graphs.decoder.outputs.filter((o) => o.name.startsWith("present."));
    expect(outputs.every((o) => o.shape[1] === "S")).toBe(true);
    const inputs = append.files.manifest.graphs.decoder.inputs.filter((i) => i.name.startsWith("past_key_values."));
    expect(inputs.every((i) => i.shape[1] === "cached")).toBe(true);

    const a = await plain.prefill(prompt.ids, prompt.visuals);
    const b = await append.prefill(prompt.ids, prompt.visuals);
    let worst = relativeError(b.logits, a.logits);
    const initialCapacity = append.cache.capacity;
    expect(initialCapacity).toBe(prompt.ids.length + 3);
    const firstBuffers = append.cache.keys.map((t) => t.data);

    let token = argmax(a.logits);
    const capacities: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const x = await plain.step(token);
      const y = await append.step(token);
      worst = Math.max(worst, relativeError(y, x));
      capacities.push(append.cache.capacity);
      // Before the growth: the very same arrays (identity, not equal contents).
      if (i < 3) expect(append.cache.keys.every((t, l) => t.data === firstBuffers[l])).toBe(true);
      token = argmax(x);
    }
    console.log(
      `append vs plain: worst relative logits difference over prefill + ${STEPS} steps ${worst.toExponential(2)}; capacities ${initialCapacity} → ${[...new Set(capacities)].join(", ")}`,
    );
    expect(worst).toBeLessThan(FP32_BOUND);
    // Grown once, at the 4th step, by the headroom (≥ 256 positions), then stable.
    expect(new Set(capacities).size).toBe(2);
    expect(capacities[3]).toBeGreaterThanOrEqual(prompt.ids.length + 4 + 256);
    expect(append.cache.length).toBe(prompt.ids.length + STEPS);
  });

  it("reuses the buffers for a shorter prefix (truncation only moves the length)", async () => {
    const before = append.cache.keys[0]!.data;
    const cut = prompt.ids.length - 2;
    const again = await append.prefill([...prompt.ids.slice(0, cut), 7, 8], prompt.visuals);
    expect(again.reusedTokens).toBe(cut);
    expect(append.cache.keys[0]!.data).toBe(before);
    expect(append.cache.length).toBe(cut + 2);
    const reference = await plain.prefill([...prompt.ids.slice(0, cut), 7, 8], prompt.visuals);
    expect(relativeError(again.logits, reference.logits)).toBeLessThan(FP32_BOUND);
  });
});
