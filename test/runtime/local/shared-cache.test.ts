import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalEngine } from "../../../src/runtime/local/engine.js";
import { KvCache } from "../../../src/runtime/local/kv-cache.js";
import { loadModelFiles } from "../../../src/runtime/local/model-files.js";
import type { VisualInput } from "../../../src/runtime/local/visual-inputs.js";
import { builtGraphs } from "../../parity/built-graphs.js";
import { FP32_BOUND, parityCheckpoint, relativeError, TEXT_ID_LIMIT } from "../../parity/fixture.js";
import { argmax } from "../../support/reference/model.js";
import { syntheticPrompt } from "../../support/reference/prompt-fixture.js";
import { loadReferenceCheckpoint } from "../../support/reference/weights.js";

/**
 * Issue 4, "no per-step copy of the whole KV cache" on CPU: a "gqa-shared" decoder reads and writes one
 * fixed-capacity buffer per layer (past = present), which the engine allocates once. It must give the plain
 * build's logits, and the buffers must be the ones written, step after step, without growing.
 */
const STEPS = 8;
const CAPACITY = 96;

let plain: LocalEngine;
let shared: LocalEngine;
let prompt: { ids: number[]; visuals: VisualInput[] };

beforeAll(async () => {
  const checkpoint = await parityCheckpoint();
  const config = loadReferenceCheckpoint(checkpoint).config;
  const p = syntheticPrompt(config, [{ kind: "image", grid: { t: 1, h: 4, w: 6 } }], 31, TEXT_ID_LIMIT);
  prompt = {
    ids: p.ids,
    visuals: [{ kind: "image", key: "a", grid: [1, 4, 6], pixelValues: Float32Array.from(p.pixels) }],
  };
  const open = async (attention: "plain" | "gqa-shared") =>
    LocalEngine.open(
      await loadModelFiles(
        await builtGraphs(checkpoint, { dtype: "fp32", ...(attention === "plain" ? {} : { attention }) }),
        checkpoint,
      ),
      { executionProvider: "cpu", threads: 1, cacheCapacityTokens: CAPACITY },
    );
  plain = await open("plain");
  shared = await open("gqa-shared");
});

afterAll(async () => {
  await plain?.close();
  await shared?.close();
});

/** Positions 0..length-1 of a [1, kvh, capacity, hd] buffer, as [1, kvh, length, hd]. */
function firstPositions(tensor: ort.Tensor, length: number): Float32Array {
  const [, kvh, capacity, hd] = tensor.dims as [number, number, number, number];
  const data = tensor.data as Float32Array;
  const out = new Float32Array(kvh * length * hd);
  for (let h = 0; h < kvh; h++)
    out.set(data.subarray(h * capacity * hd, (h * capacity + length) * hd), h * length * hd);
  return out;
}

describe("gqa-shared decoder through the local engine (CPU)", () => {
  it("matches the plain build over a prefill and 8 cached decode steps, writing into the same buffers", async () => {
    expect(shared.files.manifest.attention).toBe("gqa-shared");
    expect(shared.providers.decoder).toBe("cpu");
    const a = await plain.prefill(prompt.ids, prompt.visuals);
    const b = await shared.prefill(prompt.ids, prompt.visuals);
    let worst = relativeError(b.logits, a.logits);

    // Allocated once, at the requested capacity; remember the very arrays and their memory.
    expect(shared.cache.capacity).toBe(CAPACITY);
    const keyArrays = shared.cache.keys.map((t) => t.data);
    const valueArrays = shared.cache.values.map((t) => t.data);
    const buffers = [...keyArrays, ...valueArrays].map((d) => (d as Float32Array).buffer);

    let token = argmax(a.logits);
    for (let i = 0; i < STEPS; i++) {
      const x = await plain.step(token);
      const y = await shared.step(token);
      worst = Math.max(worst, relativeError(y, x));
      token = argmax(x);
    }
    console.log(
      `gqa-shared vs plain: worst relative logits difference over prefill + ${STEPS} steps ${worst.toExponential(2)}`,
    );
    expect(worst).toBeLessThan(FP32_BOUND);

    expect(shared.cache.length).toBe(prompt.ids.length + STEPS);
    expect(shared.cache.capacity).toBe(CAPACITY);
    shared.cache.keys.forEach((t, l) => {
      expect(t.data).toBe(keyArrays[l]);
    });
    shared.cache.values.forEach((t, l) => {
      expect(t.data).toBe(valueArrays[l]);
    });
    [...shared.cache.keys, ...shared.cache.values].forEach((t, i) => {
      expect((t.data as Float32Array).buffer).toBe(buffers[i]);
    });
    // And those buffers hold what the plain build's concatenated cache holds (keys after rotary, values).
    const length = plain.cache.length;
    expect(length).toBe(shared.cache.length);
    for (let l = 0; l < plain.cache.keys.length; l++) {
      expect(
        relativeError(firstPositions(shared.cache.keys[l]!, length), plain.cache.keys[l]!.data as Float32Array),
      ).toBeLessThan(FP32_BOUND);
      expect(
        relativeError(firstPositions(shared.cache.values[l]!, length), plain.cache.values[l]!.data as Float32Array),
      ).toBeLessThan(FP32_BOUND);
    }
  });

  it("reuses the buffers for a shorter prefix (truncation only moves the length)", async () => {
    const before = shared.cache.keys[0]!.data;
    const cut = prompt.ids.length - 2;
    const again = await shared.prefill([...prompt.ids.slice(0, cut), 7, 8], prompt.visuals);
    expect(again.reusedTokens).toBe(cut);
    expect(shared.cache.keys[0]!.data).toBe(before);
    expect(shared.cache.length).toBe(cut + 2);
    const reference = await plain.prefill([...prompt.ids.slice(0, cut), 7, 8], prompt.visuals);
    expect(relativeError(again.logits, reference.logits)).toBeLessThan(FP32_BOUND);
  });
});

describe("KvCache shared-buffer mode", () => {
  const shape = { numLayers: 1, numKeyValueHeads: 2, headDim: 4 };

  it("grows by doubling (copying the kept positions once), capped at maxTokens", () => {
    const cache = new KvCache({ ...shape, shared: { maxTokens: 10 } });
    cache.reserve(3);
    expect(cache.capacity).toBe(3);
    const data = cache.keys[0]!.data as Float32Array;
    data.forEach((_, i) => {
      data[i] = i + 1;
    });
    // Pretend the decoder wrote 3 positions in place (its returned copy matches the buffer).
    const copy = (t: ort.Tensor) => new ort.Tensor("float32", Float32Array.from(t.data as Float32Array), t.dims);
    cache.advanceShared([copy(cache.keys[0]!)], [copy(cache.values[0]!)], [1, 2, 3], [0, 0, 0]);
    cache.reserve(4);
    expect(cache.capacity).toBe(6);
    // Head h, position p now lives at (h·6 + p)·4; it was at (h·3 + p)·4.
    expect(Array.from(firstPositions(cache.keys[0]!, 3))).toEqual(Array.from(data));
    cache.reserve(7);
    expect(cache.capacity).toBe(10);
  });

  it("refuses a run whose outputs were not written into its buffers", () => {
    const cache = new KvCache({ ...shape, shared: { maxTokens: 10 } });
    cache.reserve(2);
    const other = () => new ort.Tensor("float32", new Float32Array(2 * 2 * 4).fill(1), [1, 2, 2, 4]);
    expect(() => cache.advanceShared([other()], [other()], [1], [0])).toThrow(/shared buffers/);
    expect(cache.length).toBe(0);
  });
});
