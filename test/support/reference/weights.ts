import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type ModelConfig, parseModelConfig } from "../../../src/model/config.js";
import { type Float64Tensor, readSafetensorsFloat64 } from "./safetensors.js";

/** A checkpoint as the reference sees it: the parsed config and every tensor in float64, by HF name. */
export interface ReferenceCheckpoint {
  config: ModelConfig;
  tensors: Map<string, Float64Tensor>;
}

/** Looks a tensor up and checks its element count, so a naming slip fails loudly, not as NaN logits. */
export function tensor(checkpoint: ReferenceCheckpoint, name: string, expectedCount?: number): Float64Array {
  const found = checkpoint.tensors.get(name);
  if (!found) throw new Error(`reference: checkpoint has no tensor "${name}"`);
  if (expectedCount !== undefined && found.data.length !== expectedCount) {
    throw new Error(`reference: tensor "${name}" has ${found.data.length} values, expected ${expectedCount}`);
  }
  return found.data;
}

/** Reads config.json and every *.safetensors file of a checkpoint folder. */
export function loadReferenceCheckpoint(dir: string): ReferenceCheckpoint {
  const config = parseModelConfig(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as unknown);
  const tensors = new Map<string, Float64Tensor>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".safetensors"))) {
    for (const [name, t] of readSafetensorsFloat64(join(dir, file))) tensors.set(name, t);
  }
  return { config, tensors };
}
