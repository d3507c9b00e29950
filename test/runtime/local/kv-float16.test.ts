import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SquintError } from "../../../src/errors.js";
import { buildModel } from "../../../src/model/graph/build.js";
import { LocalEngine } from "../../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../../src/runtime/local/model-files.js";
import type { VisualInput } from "../../../src/runtime/local/visual-inputs.js";
import { builtGraphs } from "../../parity/built-graphs.js";
import { FP32_BOUND, parityCheckpoint, relativeError, TEXT_ID_LIMIT } from "../../parity/fixture.js";
import { argmax } from "../../support/reference/model.js";
import { syntheticPrompt } from "../../support/reference/prompt-fixture.js";
import { loadReferenceCheckpoint } from "../../support/reference/weights.js";

/**
 * Issue 9, "fp16 KV as an option that halves its memory, with parity held": an "append" decoder built with
 * `kvDtype: "float16"` keeps its cache in float16 buffers (half the bytes per position) and must stay within
 * FP16_KV_BOUND of the float32-cache build's logits over a prefill in chunks and cached steps, through a
 * capacity growth. The bound is what rounding keys and values to 11 significant bits costs on the tiny
 * checkpoint (measured ~1e-3, printed below), far under what a wrong cast, a stale position or a dropped
 * chunk gives (O(1) on random weights).
 */
const FP16_KV_BOUND = 5e-3;
const STEPS = 8;

let wide: LocalEngine;
let half: LocalEngine;
let halfWhole: LocalEngine;
let prompt: { ids: number[]; visuals: VisualInput[] };
let checkpoint: string;

beforeAll(async () => {
  checkpoint = await parityCheckpoint();
  const config = loadReferenceCheckpoint(checkpoint).config;
  const p = syntheticPrompt(config, [{ kind: "image", grid: { t: 1, h: 4, w: 6 } }], 31, TEXT_ID_LIMIT);
  prompt = {
    ids: p.ids,
    visuals: [{ kind: "image", key: "a", grid: [1, 4, 6], pixelValues: Float32Array.from(p.pixels) }],
  };
  const open = async (kvDtype: "float32" | "float16", prefillChunkTokens = 5) =>
    LocalEngine.open(
      await loadModelFiles(
        await builtGraphs(checkpoint, {
          dtype: "fp32",
          attention: "append",
          ...(kvDtype === "float16" ? { kvDtype } : {}),
        }),
        checkpoint,
      ),
      { executionProvider: "cpu", threads: 1, cacheCapacityTokens: prompt.ids.length + 3, prefillChunkTokens },
    );
  wide = await open("float32");
  half = await open("float16");
  halfWhole = await open("float16", 4096);
});

afterAll(async () => {
  await wide?.close();
  await half?.close();
  await halfWhole?.close();
});

describe("float16 KV cache (append decoder, CPU)", () => {
  it("declares float16 cache tensors and holds half the bytes per position", () => {
    expect(half.files.manifest.kvDtype).toBe("float16");
    expect(wide.files.manifest.kvDtype).toBeUndefined();
    const cacheSpecs = [
      ...half.files.manifest.graphs.decoder.inputs.filter((t) => t.name.startsWith("past_key_values.")),
      ...half.files.manifest.graphs.decoder.outputs.filter((t) => t.name.startsWith("present.")),
    ];
    expect(cacheSpecs.length).toBe(4 * half.files.manifest.model.numLayers);
    expect(cacheSpecs.every((t) => t.dtype === "float16")).toBe(true);
    expect(half.cache.bytesPerToken * 2).toBe(wide.cache.bytesPerToken);
    expect(half.cacheLimitTokens).toBe(2 * wide.cacheLimitTokens);
  });

  it("stays within the bound of the float32 cache over a chunked prefill and 8 steps, through a growth", async () => {
    const a = await wide.prefill(prompt.ids, prompt.visuals);
    const b = await half.prefill(prompt.ids, prompt.visuals);
    // The buffers really are float16 (bits in a Uint16Array), as large in elements as the float32 ones.
    expect(half.cache.keys.every((t) => t.type === "float16" && t.data instanceof Uint16Array)).toBe(true);
    expect(half.cache.keys[0]!.data.length).toBe(wide.cache.keys[0]!.data.length);
    let worst = relativeError(b.logits, a.logits);
    let token = argmax(a.logits);
    const capacities = new Set<number>();
    for (let i = 0; i < STEPS; i++) {
      const x = await wide.step(token);
      const y = await half.step(token);
      worst = Math.max(worst, relativeError(y, x));
      capacities.add(half.cache.capacity);
      token = argmax(x);
    }
    console.log(
      `float16 vs float32 KV: worst relative logits difference over prefill + ${STEPS} steps ${worst.toExponential(2)}`,
    );
    expect(capacities.size).toBe(2);
    expect(half.cache.length).toBe(prompt.ids.length + STEPS);
    expect(worst).toBeLessThan(FP16_KV_BOUND);
    // Rounding happened: a float16 cache that silently stayed float32 would match to ~1e-7.
    expect(worst).toBeGreaterThan(1e-6);
  });

  it("gives a position the same float16 values whichever run wrote it (chunked prefill = whole prefill)", async () => {
    // New keys/values are rounded before they are attended to, as the cached ones are: chunking then only
    // changes float32 summation order. Attending to unrounded new positions would differ by ~1e-3 here.
    // The bound is 10× the float32 one: a summation-order difference of one float32 ulp can still flip the
    // float16 rounding of a later layer's key or value (1 float16 ulp ≈ 4.9e-4 of that element), which moves
    // the logits by ~1e-5 (measured 1.27e-5 with the positions-first cache).
    const chunked = await half.prefill([...prompt.ids, 11], prompt.visuals);
    const whole = await halfWhole.prefill([...prompt.ids, 11], prompt.visuals);
    const difference = relativeError(chunked.logits, whole.logits);
    console.log(`float16 KV, chunked vs whole prefill: ${difference.toExponential(2)}`);
    expect(difference).toBeLessThan(10 * FP32_BOUND);
  });

  it("is refused for attention other than append, before anything is written", async () => {
    const error = await buildModel(checkpoint, "/nonexistent/squint-kv16-out", {
      dtype: "fp32",
      attention: "plain",
      kvDtype: "float16",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SquintError);
    expect((error as SquintError).code).toBe("INVALID_ARGUMENT");
    expect((error as SquintError).message).toContain("--attention append");
  });
});
