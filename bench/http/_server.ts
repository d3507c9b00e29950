/**
 * The server under load for bench/http/load.ts, in its own process so that its RSS and event loop are its
 * own: `_server.ts ocr` serves without a model (OCR locate), `_server.ts tiny` serves the tiny random
 * Qwen3-VL on the in-process engine. Prints the URL on stdout once ready (model loaded and warmed).
 */
import { readFileSync } from "node:fs";
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
// Two collections a moment apart: V8 hands freed pages back to the OS from a background thread, so RSS read
// straight after one gc() can still count them.
process.on("message", (message) => {
  if (message !== "memory") return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  setTimeout(() => {
    gc?.();
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    process.send?.({ rss, heapUsed, heapTotal, external, mallocHeap: mallocHeapBytes() });
  }, 500);
});

/**
 * Resident bytes of glibc's main malloc arena (the `[heap]` mapping; Linux only, else 0). Buffers of a few
 * hundred KB (the decoder's logits) land here once glibc's adaptive mmap threshold has risen past them, and
 * freed space in the middle of it is never returned: this is the native part of the server's RSS that a
 * flood of small requests interleaved with generations can fragment.
 */
function mallocHeapBytes(): number {
  try {
    const smaps = readFileSync("/proc/self/smaps", "utf8");
    const at = smaps.indexOf("[heap]");
    if (at < 0) return 0;
    const rss = /\nRss:\s+(\d+) kB/.exec(smaps.slice(at));
    return rss ? Number(rss[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
process.on("SIGTERM", () => {
  void handle.close().then(() => process.exit(0));
});
