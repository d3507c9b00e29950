/**
 * Two or more builds' decode steps interleaved in one process: every build holds the same prompt in its cache
 * and they take turns, one step each (the order rotating), so a busy machine slows them alike and the paired
 * ratio stays meaningful where absolute times do not (bench/engine/llama-cpp.ts is the absolute comparison).
 *
 *   BENCH_BUILDS=int4-append-b64,int4-append-kv16-b64 BENCH_CONTEXT=1024 node --import tsx bench/engine/decode-ab.ts
 */
import { greedySampling, Sampler } from "../../src/model/sampling.js";
import { LocalEngine } from "../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../src/runtime/local/model-files.js";
import { builtByName } from "./_bench-2b.js";
import { median, promptIds } from "./_prompt.js";

const BUILDS = (process.env.BENCH_BUILDS ?? "int4-append-b64,int4-append-kv16-b64").split(",");
const CONTEXT = Number(process.env.BENCH_CONTEXT ?? 1024);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const STEPS = Number(process.env.BENCH_STEPS ?? 24);

const runners = [];
for (const name of BUILDS) {
  const { built, checkpoint } = await builtByName(name);
  const engine = await LocalEngine.open(await loadModelFiles(built, checkpoint), {
    executionProvider: "cpu",
    threads: THREADS,
    log: () => {},
  });
  const sampler = new Sampler(greedySampling);
  const token = sampler.sample((await engine.prefill(promptIds(CONTEXT), [])).logits);
  runners.push({ name, engine, sampler, token, times: [] as number[] });
}
for (let i = 0; i < STEPS + 2; i++) {
  for (let j = 0; j < runners.length; j++) {
    const r = runners[(i + j) % runners.length]!;
    const t = performance.now();
    r.token = r.sampler.sample(await r.engine.step(r.token));
    // The first two steps of each warm the step path.
    if (i >= 2) r.times.push(performance.now() - t);
  }
}
const base = runners[0]!;
console.log(`decode at ${CONTEXT} tokens of context, ${THREADS} threads, ${STEPS} interleaved steps per build`);
console.log("");
console.log("| build | ms/token median | fastest | median of paired ratios to the first |");
console.log("|---|---:|---:|---:|");
for (const r of runners) {
  const paired = r.times.map((t, i) => t / base.times[i]!);
  console.log(
    `| ${r.name} | ${median(r.times).toFixed(1)} | ${Math.min(...r.times).toFixed(1)} | ${median(paired).toFixed(3)} |`,
  );
  await r.engine.close();
}
