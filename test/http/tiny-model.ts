import { mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tinyBuilt } from "../runtime/local/engine-fixture.js";

/**
 * The tiny random Qwen3-VL (seed 1, fp32 graphs) the engine tests build, made once under test/.generated/
 * and shared; `modelDir` is one folder holding both the graphs and the checkpoint's config and tokenizer,
 * which is what `squint serve --model DIR` loads. Random weights: these tests check the plumbing, never
 * what the model says.
 */
export async function tinyServeModel(): Promise<{ checkpoint: string; built: string; modelDir: string }> {
  const { checkpoint, built } = await tinyBuilt("fp32");
  const modelDir = mkdtempSync(join(tmpdir(), "squint-serve-model-"));
  const linked = new Set<string>();
  for (const dir of [built, checkpoint]) {
    for (const name of readdirSync(dir)) {
      if (linked.has(name) || name.startsWith(".") || name.endsWith(".safetensors")) continue;
      symlinkSync(join(dir, name), join(modelDir, name));
      linked.add(name);
    }
  }
  return { checkpoint, built, modelDir };
}
