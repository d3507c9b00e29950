import { describe, expect, it } from "vitest";
import { LocalEngine } from "../../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../../src/runtime/local/model-files.js";
import { tinyBuilt } from "./engine-fixture.js";

/**
 * The tiny fp32 model on ONNX Runtime's WebGPU execution provider against the CPU provider. In CI the
 * adapter is Mesa's software Vulkan (lavapipe); one short prefill and two decode steps take seconds there.
 * Tolerance: 1e-4 of the largest CPU logit (float32 kernels differ in summation order; measured ~1e-6).
 */
const TOLERANCE = 1e-4;

function relativeDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

describe("local engine on the WebGPU execution provider", () => {
  it("prefill and decode logits match the CPU provider; the KV cache stays on the GPU", {
    timeout: 300_000,
  }, async (context) => {
    const { checkpoint, built } = await tinyBuilt("fp32");
    const files = await loadModelFiles(built, checkpoint);
    const lines: string[] = [];
    const gpu = await LocalEngine.open(files, { executionProvider: "webgpu", log: (line) => lines.push(line) });
    const cpu = await LocalEngine.open(files, { executionProvider: "cpu", threads: 1 });
    try {
      if (gpu.providers.decoder !== "webgpu") {
        console.log(
          `webgpu.test.ts skipped: no WebGPU adapter here (${lines.join(" ")}). Install mesa-vulkan-drivers for lavapipe.`,
        );
        context.skip();
      }
      const ids = files.tokenizer.encode("<|im_start|>user\nWhat is on the table?<|im_end|>\n<|im_start|>assistant\n");
      const a = await cpu.prefill(ids, []);
      const b = await gpu.prefill(ids, []);
      expect(gpu.cache.keys[0]!.location).toBe("gpu-buffer");
      const prefillDiff = relativeDiff(a.logits, b.logits);
      const token = 1000;
      const a1 = await cpu.step(token);
      const b1 = await gpu.step(token);
      const a2 = await cpu.step(token + 1);
      const b2 = await gpu.step(token + 1);
      const stepDiff = Math.max(relativeDiff(a1, b1), relativeDiff(a2, b2));
      console.log(
        `webgpu vs cpu: prefill ${prefillDiff.toExponential(2)}, decode ${stepDiff.toExponential(2)} (relative to max |logit|)`,
      );
      expect(prefillDiff).toBeLessThan(TOLERANCE);
      expect(stepDiff).toBeLessThan(TOLERANCE);
      expect(gpu.cache.length).toBe(ids.length + 2);
      // A shorter prompt cannot slice a device cache (reading gpu-buffers back aborts onnxruntime-node 1.30):
      // the engine recomputes instead, and the logits still match.
      const again = await gpu.prefill(ids.slice(0, -2), []);
      expect(again.reusedTokens).toBe(0);
      const cpuAgain = await cpu.prefill(ids.slice(0, -2), []);
      expect(relativeDiff(cpuAgain.logits, again.logits)).toBeLessThan(TOLERANCE);
    } finally {
      await gpu.close();
      await cpu.close();
    }
  });
});
