/**
 * The engine alone, no HTTP: N greedy generations on the tiny random model `squint serve`'s load bench uses
 * (bench/http/_server.ts), printing the process's memory after a full GC every 50. Tells a native leak in
 * the engine or ONNX Runtime (RSS climbs with generations) from what only the server under load shows.
 * BENCH_VARY=1 varies the prompt length and the tokens asked for (new prefill and cache shapes each time);
 * BENCH_ORT_OPTIONS='{"enableCpuMemArena":false,"enableMemPattern":false}' merges session options into every
 * session the engine opens, to compare ORT's CPU arena on and off without changing the engine.
 *
 *   node --expose-gc --import tsx bench/engine/generation-memory.ts      BENCH_GENERATIONS=600 by default
 */
import * as ort from "onnxruntime-node";
import { createBackend } from "../../src/runtime/create-backend.js";
import { tinyServeModel } from "../../test/http/tiny-model.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");
const overrides = JSON.parse(process.env.BENCH_ORT_OPTIONS ?? "{}") as ort.InferenceSession.SessionOptions;
if (Object.keys(overrides).length > 0) {
  const create = ort.InferenceSession.create.bind(ort.InferenceSession);
  const patched = (path: string, options?: ort.InferenceSession.SessionOptions) =>
    create(path, { ...options, ...overrides });
  (ort.InferenceSession as unknown as { create: typeof patched }).create = patched;
}
const generations = Number(process.env.BENCH_GENERATIONS ?? 600);
const vary = process.env.BENCH_VARY === "1";

const backend = await createBackend({ model: (await tinyServeModel()).modelDir });
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const start = performance.now();
console.log(`| generations | s | RSS MiB | heap used MiB | V8 heap committed MiB | external MiB |`);
console.log("|---|---|---|---|---|---|");
for (let i = 0; i <= generations; i++) {
  const content = vary ? `Describe a cat${" very".repeat(i % 37)}.` : "Describe a cat.";
  for await (const event of backend.generate({
    messages: [{ role: "user", content }],
    maxOutputTokens: vary ? 1 + (i % 16) : 8,
    sampling: { doSample: false },
    resolveImage: async () => {
      throw new Error("no images in this bench");
    },
  })) {
    void event;
  }
  if (i % 50 === 0) {
    gc();
    const m = process.memoryUsage();
    const seconds = ((performance.now() - start) / 1000).toFixed(1);
    console.log(
      `| ${i} | ${seconds} | ${mib(m.rss)} | ${mib(m.heapUsed)} | ${mib(m.heapTotal)} | ${mib(m.external)} |`,
    );
  }
}
await backend.close();
