/**
 * The server under load for bench/http/load.ts, in its own process so that its RSS and event loop are its
 * own: `_server.ts ocr` serves without a model (OCR locate), `_server.ts tiny` serves the tiny random
 * Qwen3-VL on the in-process engine. Prints the URL on stdout once ready (model loaded and warmed).
 */
import { serve } from "../../src/http/server.js";
import { createBackend } from "../../src/runtime/create-backend.js";
import { tinyServeModel } from "../../test/http/tiny-model.js";

const scenario = process.argv[2];
const limits = { maxQueuedModel: 32, maxQueuedOcr: 64, maxBodyBytes: 16 * 1024 * 1024 };
const handle =
  scenario === "tiny"
    ? await serve({
        port: 0,
        backend: async () => createBackend({ model: (await tinyServeModel()).modelDir }),
        modelName: "tiny",
        limits,
      })
    : await serve({ port: 0, limits });
await handle.context.model.loaded;
process.stdout.write(`${handle.url}\n`);
// The load bench asks (over IPC) for memory after a full GC: what the heap still holds, not what V8 has yet
// to collect. Needs --expose-gc, which the bench passes.
process.on("message", (message) => {
  if (message !== "memory") return;
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  process.send?.({ rss, heapUsed, heapTotal, external });
});
process.on("SIGTERM", () => {
  void handle.close().then(() => process.exit(0));
});
