import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildModel } from "../../../src/model/graph/build.js";
import { LocalEngine } from "../../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../../src/runtime/local/model-files.js";
import type { VisualInput } from "../../../src/runtime/local/visual-inputs.js";
import { builtGraphs } from "../../parity/built-graphs.js";
import { parityCheckpoint, relativeError, TEXT_ID_LIMIT } from "../../parity/fixture.js";
import { argmax } from "../../support/reference/model.js";
import { syntheticPrompt } from "../../support/reference/prompt-fixture.js";
import { loadReferenceCheckpoint } from "../../support/reference/weights.js";

/**
 * Issue 9, prefill at least llama.cpp's: an int4 build with `prefillDtype: "int8"` carries an int8 twin of
 * the decoder (decoder-prefill.onnx). The engine runs prompt chunks of at least `prefillGraphMinTokens`
 * on it and single-token steps on the int4 decoder, both over the one cache. Checked: which session runs
 * what; the int8 prefill is closer to the exact (fp32) model than the int4 prefill it replaces; the int4
 * steps that follow it stay within the int4 bound; and with the twin switched off the build is exactly
 * the int4 build.
 */
const STEPS = 6;
// The prompt is 14 tokens: one chunk of 10 on the twin, a tail of 4 on the int4 decoder.
const CHUNK = 10;

let exact: LocalEngine;
let int4: LocalEngine;
let hybrid: LocalEngine;
let hybridOff: LocalEngine;
/** The same build with chunks longer than the prompt: the whole prefill on the twin. */
let hybridWhole: LocalEngine;
let prompt: { ids: number[]; visuals: VisualInput[] };

beforeAll(async () => {
  const checkpoint = await parityCheckpoint();
  const config = loadReferenceCheckpoint(checkpoint).config;
  const p = syntheticPrompt(config, [{ kind: "image", grid: { t: 1, h: 4, w: 6 } }], 41, TEXT_ID_LIMIT);
  prompt = {
    ids: p.ids,
    visuals: [{ kind: "image", key: "a", grid: [1, 4, 6], pixelValues: Float32Array.from(p.pixels) }],
  };
  const open = async (dir: string, extra: { prefillGraphMinTokens?: number; prefillChunkTokens?: number } = {}) =>
    LocalEngine.open(await loadModelFiles(dir, checkpoint), {
      executionProvider: "cpu",
      threads: 1,
      prefillChunkTokens: CHUNK,
      ...extra,
    });
  const base = { lastTokenLogits: true, attention: "append" } as const;
  exact = await open(await builtGraphs(checkpoint, { dtype: "fp32", ...base }));
  int4 = await open(await builtGraphs(checkpoint, { dtype: "int4", ...base }));
  const hybridDir = await builtGraphs(checkpoint, { dtype: "int4", prefillDtype: "int8", ...base });
  hybrid = await open(hybridDir);
  hybridOff = await open(hybridDir, { prefillGraphMinTokens: Number.MAX_SAFE_INTEGER });
  hybridWhole = await open(hybridDir, { prefillChunkTokens: 64 });
});

afterAll(async () => {
  for (const engine of [exact, int4, hybrid, hybridOff, hybridWhole]) await engine?.close();
});

describe("an int4 build with an int8 prefill decoder", () => {
  it("writes decoder-prefill.onnx with the decoder's inputs and outputs, and says so in the manifest", () => {
    const m = hybrid.files.manifest;
    expect(m.prefillDtype).toBe("int8");
    expect(m.graphs.prefill?.file).toBe("decoder-prefill.onnx");
    expect(existsSync(join(hybrid.files.dir, "decoder-prefill.onnx"))).toBe(true);
    expect(m.graphs.prefill?.inputs).toEqual(m.graphs.decoder.inputs);
    expect(m.graphs.prefill?.outputs).toEqual(m.graphs.decoder.outputs);
    expect(int4.files.manifest.graphs.prefill).toBeUndefined();
    expect(hybrid.prefillDecoder).toBeDefined();
    expect(int4.prefillDecoder).toBeUndefined();
  });

  it("runs chunks of prefillGraphMinTokens or more on the int8 twin, shorter ones and steps on the int4 decoder", async () => {
    const prefillRuns = vi.spyOn(hybrid.prefillDecoder!, "run");
    const decoderRuns = vi.spyOn(hybrid.decoder, "run");
    hybrid.cache.reset();
    // The prompt's chunks of CHUNK tokens go to the twin; its tail, shorter than the threshold (8), does not.
    const full = Math.floor(prompt.ids.length / CHUNK);
    const tail = prompt.ids.length % CHUNK;
    expect(full).toBeGreaterThan(0);
    expect(tail).toBeGreaterThan(0);
    expect(tail).toBeLessThan(8);
    await hybrid.prefill(prompt.ids, prompt.visuals);
    expect(prefillRuns).toHaveBeenCalledTimes(full);
    expect(decoderRuns).toHaveBeenCalledTimes(1);
    await hybrid.step(5);
    expect(prefillRuns).toHaveBeenCalledTimes(full);
    expect(decoderRuns).toHaveBeenCalledTimes(2);
    prefillRuns.mockRestore();
    decoderRuns.mockRestore();
  });

  it("prefills closer to the exact model than int4 does, and its int4 steps stay within the int4 bound", async () => {
    for (const engine of [exact, int4, hybridWhole, hybridOff]) engine.cache.reset();
    const e = await exact.prefill(prompt.ids, prompt.visuals);
    const q4 = await int4.prefill(prompt.ids, prompt.visuals);
    const h = await hybridWhole.prefill(prompt.ids, prompt.visuals);
    const off = await hybridOff.prefill(prompt.ids, prompt.visuals);
    const int4Error = relativeError(q4.logits, e.logits);
    const hybridError = relativeError(h.logits, e.logits);
    console.log(`prefill vs fp32: int4 ${int4Error.toExponential(2)}, int8 twin ${hybridError.toExponential(2)}`);
    // Same int4 decoder file, twin unused: identical to the int4 build.
    expect(relativeError(off.logits, q4.logits)).toBe(0);
    // int8 layers round 15× finer than int4 ones: the twin's prefill is much closer to exact (measured 0.10
    // against int4's 0.33; most of what is left is the LM head, int4 in both).
    expect(hybridError).toBeLessThan(int4Error / 2);
    let token = argmax(e.logits);
    let worst = 0;
    for (let i = 0; i < STEPS; i++) {
      const x = await exact.step(token);
      const y = await hybridWhole.step(token);
      worst = Math.max(worst, relativeError(y, x));
      token = argmax(x);
    }
    console.log(`int4 steps after the int8 prefill vs fp32: worst ${worst.toExponential(2)}`);
    // The int4 bound of test/parity/reduced-precision.test.ts.
    expect(worst).toBeLessThan(0.6);
  });

  it("refuses a prefill dtype on builds that are not int4", async () => {
    const checkpoint = await parityCheckpoint();
    await expect(
      buildModel(checkpoint, join(checkpoint, "..", "never-built"), { dtype: "fp16", prefillDtype: "int8" }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
