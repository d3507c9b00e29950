/**
 * Squint's int4 engine against llama.cpp Q4_0 on the same random weights at the Qwen3-VL-2B text shape
 * (bench/engine/_bench-2b.ts), same thread count, CPU only (issue 9). The bench makes everything it needs:
 *  - the random checkpoint and Squint's int4 builds (BENCH_BUILDS, default "int4-plain,int4-append,int4-append-kv16":
 *    accuracy_level 4; plain attention with its in-graph cache copies, the no-copy "append" cache, and the
 *    same with a float16 cache; "-b64"/"-b128" in a name sets the int4 block size, default 32; "-p8" adds the
 *    int8 prefill decoder, `--prefill-dtype int8`);
 *  - a GGUF Q4_0 file of the same checkpoint (bench/engine/_gguf-q4.ts);
 *  - node-llama-cpp, pinned, installed into bench/out/llama-cpp (not a dependency of the package).
 * Each measurement runs in its own process (one model in memory, no second thread pool spinning), the
 * engines rotate their order every round, and the table reports each round's ratio to that round's llama.cpp
 * run: the machine is shared, so absolute numbers move and the ratios are what to read. Each row also gives
 * the KV cache bytes Squint allocated for the context and the process's peak RSS.
 *
 *   node --import tsx bench/engine/llama-cpp.ts
 *   BENCH_CONTEXTS=1024,4096 BENCH_ROUNDS=2 BENCH_THREADS=2 BENCH_STEPS=16 BENCH_BUILDS=int4-append,int4-gqa
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { greedySampling, Sampler } from "../../src/model/sampling.js";
import { LocalEngine } from "../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../src/runtime/local/model-files.js";
import { BENCH_2B_ROOT, builtByName, checkpoint2b } from "./_bench-2b.js";
import { writeGgufQ4_0 } from "./_gguf-q4.js";
import { median, promptIds } from "./_prompt.js";

const NODE_LLAMA_CPP_VERSION = "3.21.1";
const scratch = join(BENCH_2B_ROOT, "..", `llama-cpp-${NODE_LLAMA_CPP_VERSION}`);
const CONTEXTS = (process.env.BENCH_CONTEXTS ?? "1024,4096").split(",").map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const STEPS = Number(process.env.BENCH_STEPS ?? 16);
// BENCH_BUILD (one build) is the older spelling, kept for scripts that still set it.
const BUILDS = (process.env.BENCH_BUILDS ?? process.env.BENCH_BUILD ?? "int4-plain,int4-append,int4-append-kv16").split(
  ",",
);

interface Measured {
  prefillMs: number;
  /** Median decode step (one token fed, next token out). */
  stepMs: number;
  /** Fastest decode step: under contention on a shared machine, the closest to the engine's own speed. */
  minStepMs: number;
  steps: number;
  /** Squint only: bytes of the KV cache buffers/tensors after the last step. */
  kvBytes?: number;
  /** Peak resident set of the measuring process. */
  maxRssBytes: number;
}

async function runSquint(build: string, context: number): Promise<Measured> {
  const { built, checkpoint } = await builtByName(build);
  const files = await loadModelFiles(built, checkpoint);
  const engine = await LocalEngine.open(files, {
    executionProvider: "cpu",
    threads: THREADS,
    log: () => {},
  });
  await engine.prefill(promptIds(16), []);
  await engine.step(1000);
  engine.cache.reset();
  const sampler = new Sampler(greedySampling);
  const t0 = performance.now();
  const prefill = await engine.prefill(promptIds(context), []);
  const prefillMs = performance.now() - t0;
  let token = sampler.sample(prefill.logits);
  const times: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const t = performance.now();
    token = sampler.sample(await engine.step(token));
    times.push(performance.now() - t);
  }
  // Buffered caches (append) hold their whole capacity; plain ones exactly the cached positions.
  const held = engine.cache.buffered ? engine.cache.capacity : engine.cache.length;
  const kvBytes = held * engine.cache.bytesPerToken;
  await engine.close();
  return {
    prefillMs,
    stepMs: median(times),
    minStepMs: Math.min(...times),
    steps: STEPS,
    kvBytes,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

interface LlamaModule {
  getLlama(options: Record<string, unknown>): Promise<{
    loadModel(options: { modelPath: string }): Promise<{
      createContext(options: Record<string, unknown>): Promise<{
        getSequence(): {
          evaluateWithoutGeneratingNewTokens(tokens: number[]): Promise<void>;
          evaluate(tokens: number[], options: Record<string, unknown>): AsyncGenerator<number, void, void>;
          clearHistory(): Promise<void>;
        };
        dispose(): Promise<void>;
      }>;
      dispose(): Promise<void>;
    }>;
  }>;
}

async function runLlama(context: number): Promise<Measured> {
  const { getLlama } = (await import(
    pathToFileURL(join(scratch, "node_modules", "node-llama-cpp", "dist", "index.js")).href
  )) as LlamaModule;
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error", maxThreads: THREADS });
  const model = await llama.loadModel({ modelPath: await ggufFile() });
  const ctx = await model.createContext({
    contextSize: context + STEPS + 32,
    batchSize: 512,
    threads: { ideal: THREADS, min: THREADS },
  });
  const sequence = ctx.getSequence();
  const decode = async (first: number, steps: number, times?: number[]) => {
    const it = sequence.evaluate([first], { temperature: 0 });
    for (let i = 0; i < steps; i++) {
      const t = performance.now();
      const next = await it.next();
      times?.push(performance.now() - t);
      if (next.done) throw new Error("llama.cpp stopped generating");
    }
    await it.return();
  };
  await sequence.evaluateWithoutGeneratingNewTokens(promptIds(16));
  await decode(1000, 1);
  await sequence.clearHistory();
  const ids = promptIds(context);
  const t0 = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(ids.slice(0, -1));
  const prefillMs = performance.now() - t0;
  const times: number[] = [];
  // The last prompt token is fed as the first decode step, as Squint's prefill returns its logits.
  await decode(ids.at(-1)!, STEPS, times);
  await ctx.dispose();
  await model.dispose();
  return {
    prefillMs,
    stepMs: median(times.slice(1)),
    minStepMs: Math.min(...times.slice(1)),
    steps: STEPS - 1,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

async function ggufFile(): Promise<string> {
  const file = join(BENCH_2B_ROOT, "checkpoint-2b-q4_0.gguf");
  if (!existsSync(file)) {
    const partial = `${file}.partial`;
    await writeGgufQ4_0(await checkpoint2b(), partial);
    const { renameSync } = await import("node:fs");
    renameSync(partial, file);
  }
  return file;
}

/** node-llama-cpp at the pinned version, with only the CPU prebuilt binary for this platform. */
function installLlama(): void {
  if (existsSync(join(scratch, "node_modules", "node-llama-cpp", "package.json"))) return;
  mkdirSync(scratch, { recursive: true });
  writeFileSync(join(scratch, "package.json"), '{"name":"squint-bench-llama-cpp","private":true}\n');
  const binary = `@node-llama-cpp/${process.platform === "darwin" ? "mac" : process.platform}-${process.arch}`;
  const result = spawnSync(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      "--omit=optional",
      `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`,
      `${binary}@${NODE_LLAMA_CPP_VERSION}`,
    ],
    { cwd: scratch, stdio: "inherit" },
  );
  if (result.status !== 0) throw new Error(`npm install of node-llama-cpp@${NODE_LLAMA_CPP_VERSION} failed`);
}

/** `engine` is "llama.cpp" or a Squint build name. */
function child(engine: string, context: number): Measured {
  const result = spawnSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), "--child", engine, String(context)],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 },
  );
  if (result.status !== 0) throw new Error(`${engine} at ${context} exited with ${result.status}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as Measured;
}

async function parent(): Promise<void> {
  installLlama();
  for (const build of BUILDS) await builtByName(build);
  await ggufFile();
  const rows: string[] = [];
  const f = (v: number, d = 1) => v.toFixed(d);
  const mib = (bytes: number | undefined) => (bytes === undefined ? "–" : f(bytes / 2 ** 20, 0));
  const engines = ["llama.cpp", ...BUILDS];
  for (let round = 0; round < ROUNDS; round++) {
    for (const context of CONTEXTS) {
      // Rotate who goes first, so no engine always runs on a cold (or a warm) machine.
      const shift = round % engines.length;
      const order = [...engines.slice(shift), ...engines.slice(0, shift)];
      const got = new Map(order.map((engine) => [engine, child(engine, context)]));
      const l = got.get("llama.cpp")!;
      const row = (name: string, m: Measured) =>
        `| ${round + 1} | ${context} | ${name} | ${f(m.stepMs)} | **${f(m.stepMs / l.stepMs, 2)}×** | ${f(m.minStepMs)} | **${f(m.minStepMs / l.minStepMs, 2)}×** | ${f((context / m.prefillMs) * 1000, 0)} | ${f(m.prefillMs / l.prefillMs, 2)}× | ${mib(m.kvBytes)} | ${mib(m.maxRssBytes)} |`;
      rows.push(row(`llama.cpp Q4_0${order[0] === "llama.cpp" ? " (first)" : ""}`, l));
      for (const build of BUILDS)
        rows.push(row(`Squint ${build}${order[0] === build ? " (first)" : ""}`, got.get(build)!));
      console.error(rows.slice(-engines.length).join("\n"));
    }
  }
  console.log(
    `Qwen3-VL-2B text shape, random weights, CPU, ${THREADS} threads; Squint builds ${BUILDS.join(", ")}; llama.cpp via node-llama-cpp ${NODE_LLAMA_CPP_VERSION} (Q4_0, f16 KV); decode = median / fastest of ${STEPS} steps; ratios to the same round's llama.cpp`,
  );
  console.log("");
  console.log(
    "| round | context | engine | ms/token (median) | ratio (median) | fastest step ms | ratio (fastest) | prefill tok/s | prefill time ratio | KV cache MiB | peak RSS MiB |",
  );
  console.log("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  console.log(rows.join("\n"));
}

const at = process.argv.indexOf("--child");
if (at >= 0) {
  const engine = process.argv[at + 1];
  const context = Number(process.argv[at + 2]);
  const measured = engine === "llama.cpp" ? await runLlama(context) : await runSquint(engine!, context);
  process.stdout.write(`${JSON.stringify(measured)}\n`);
} else {
  await parent();
}
