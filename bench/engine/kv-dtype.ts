/**
 * float32 vs float16 KV cache (issue 9) at the Qwen3-VL-2B text shape, int4 weights, "append" attention (the
 * no-copy cache), CPU provider: the cache memory each holds and what the float16 cache costs per decode step.
 * Both engines live in this one process and their steps are interleaved (a float32 step, a float16 step, ...),
 * so load from other processes on a shared machine hits them alike. The prompt grows from one context to the
 * next by prefix reuse, so only the new tokens are prefilled.
 *
 *   node --import tsx bench/engine/kv-dtype.ts        BENCH_CONTEXTS=1024,4096 BENCH_STEPS=12 BENCH_THREADS=2
 */
import { LocalEngine } from "../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../src/runtime/local/model-files.js";
import { built2b } from "./_bench-2b.js";
import { median, promptIds } from "./_prompt.js";

const CONTEXTS = (process.env.BENCH_CONTEXTS ?? "1024,4096").split(",").map(Number);
const STEPS = Number(process.env.BENCH_STEPS ?? 12);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);

async function open(name: string, kv16: boolean): Promise<LocalEngine> {
  const { built, checkpoint } = await built2b(name, {
    dtype: "int4",
    attention: "append",
    ...(kv16 ? { kvDtype: "float16" as const } : {}),
  });
  return LocalEngine.open(await loadModelFiles(built, checkpoint), {
    executionProvider: "cpu",
    threads: THREADS,
    log: () => {},
  });
}

const engines = [
  { label: "float32 KV", engine: await open("int4-append", false) },
  { label: "float16 KV", engine: await open("int4-append-kv16", true) },
];
const rows: string[] = [];
for (const context of CONTEXTS) {
  const ids = promptIds(context);
  const times = engines.map(() => [] as number[]);
  const tokens: number[] = [];
  for (const [i, { engine }] of engines.entries()) {
    // Drop the previous context's generated steps; the prompt prefix is reused.
    const { logits } = await engine.prefill(ids, []);
    tokens[i] = argmax(logits);
  }
  for (let s = 0; s < STEPS; s++) {
    for (const [i, { engine }] of engines.entries()) {
      const t = performance.now();
      tokens[i] = argmax(await engine.step(tokens[i]!));
      times[i]!.push(performance.now() - t);
    }
  }
  const base = times[0]!;
  for (const [i, { label, engine }] of engines.entries()) {
    const mib = (engine.cache.capacity * engine.cache.bytesPerToken) / 2 ** 20;
    rows.push(
      `| ${context} | ${label} | ${(engine.cache.bytesPerToken / 1024).toFixed(0)} | ${engine.cache.capacity} | ${mib.toFixed(0)} | ${median(times[i]!).toFixed(1)} | ${Math.min(...times[i]!).toFixed(1)} | ${(Math.min(...times[i]!) / Math.min(...base)).toFixed(2)}× |`,
    );
    console.error(rows.at(-1));
  }
}
for (const { engine } of engines) await engine.close();

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

console.log(
  `Qwen3-VL-2B text shape, random weights, int4 (accuracy_level 4), append attention, CPU, ${THREADS} threads; ${STEPS} interleaved decode steps per context`,
);
console.log("");
console.log(
  "| context | cache | KiB per token | capacity (positions) | KV cache MiB | ms/step (median) | fastest step ms | fastest vs float32 |",
);
console.log("|---:|---|---:|---:|---:|---:|---:|---:|");
console.log(rows.join("\n"));
