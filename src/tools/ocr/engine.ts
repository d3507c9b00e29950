import { Worker } from "node:worker_threads";
import { SquintError, type SquintErrorCode } from "../../errors.js";
import type { OcrEngine, OcrEngineOptions, OcrInput, OcrRecognizeOptions } from "./local-engine.js";
import type { OcrResult } from "./types.js";
import { type WireError, type WorkerResponse, workerResponseSchema } from "./worker-protocol.js";

export type { OcrEngine, OcrEngineOptions, OcrInput, OcrRecognizeOptions } from "./local-engine.js";

function fromWire(error: WireError): SquintError {
  return new SquintError(error.code as SquintErrorCode, error.message, {
    ...(error.hint ? { hint: error.hint } : {}),
    ...(error.details ? { details: error.details } : {}),
  });
}

/**
 * Spawns the worker. From dist it is plain .js. From source (tests, tsx) it is a .ts file, and Node 20 does
 * not apply `--import tsx` to a worker thread's module loader, so a tiny bootstrap registers tsx's ESM
 * hooks inside the thread before importing the worker.
 */
function spawnWorker(options: OcrEngineOptions): Worker {
  const workerData = { ...options };
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./ocr-worker.js", import.meta.url), { workerData });
  const target = new URL("./ocr-worker.ts", import.meta.url).href;
  const bootstrap = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

interface Job {
  resolve(result: OcrResult): void;
  reject(error: SquintError): void;
}

/** One worker thread: `ready` settles when its models are loaded (or failed to load). */
interface RunningWorker {
  worker: Worker;
  ready: Promise<void>;
  exited: Promise<void>;
}

/**
 * OCR off the main thread: a worker thread holds the PP-OCR models and reads one image at a time. The
 * worker starts on the first call and is reused; it does not keep the process alive while idle. A caller's
 * abort rejects its call at once and tells the worker to stop after the line it is reading. `close()` asks
 * the worker to free its models and end by itself, because terminating a thread while onnxruntime is
 * inside a native call can abort the whole process.
 */
export function createOcrEngine(options: OcrEngineOptions = {}): OcrEngine {
  let running: RunningWorker | undefined;
  let nextId = 1;
  let closed = false;
  const jobs = new Map<number, Job>();

  const failAll = (error: SquintError) => {
    for (const job of jobs.values()) job.reject(error);
    jobs.clear();
  };

  const start = (): RunningWorker => {
    if (running) return running;
    const spawned = spawnWorker(options);
    let markReady: () => void = () => {};
    let markFailed: (error: SquintError) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    // Load failures surface on the calls that wait for `ready`; don't also report them as unhandled.
    ready.catch(() => {});
    const exited = new Promise<void>((resolve) => spawned.once("exit", () => resolve()));
    const current: RunningWorker = { worker: spawned, ready, exited };
    running = current;
    const forget = () => {
      if (running === current) running = undefined;
    };
    spawned.on("message", (raw: unknown) => {
      const parsed = workerResponseSchema.safeParse(raw);
      if (!parsed.success) return;
      const message: WorkerResponse = parsed.data;
      if (message.kind === "ready") {
        markReady();
      } else if (message.kind === "load-failed") {
        // The next call starts a fresh worker (the files may have been fixed meanwhile).
        markFailed(fromWire(message.error));
        forget();
      } else {
        const job = jobs.get(message.id);
        jobs.delete(message.id);
        if (jobs.size === 0 && !closed) spawned.unref();
        if (!job) return;
        if (message.kind === "result") job.resolve(message.result);
        else job.reject(fromWire(message.error));
      }
    });
    const died = (cause: unknown) => {
      const error = new SquintError("TOOL_FAILED", "The OCR worker thread stopped unexpectedly.", {
        hint: "Retry the call; if it keeps failing, check that onnxruntime-node and sharp load in this Node version.",
        cause,
      });
      markFailed(error);
      failAll(error);
      forget();
    };
    spawned.on("error", died);
    spawned.on("exit", (code) => {
      if (!closed) died({ exitCode: code });
    });
    return current;
  };

  const closedError = () =>
    new SquintError("ABORTED", "The OCR engine was closed.", { hint: "Create a new engine with createOcrEngine()." });

  return {
    async recognize(input: OcrInput, recognizeOptions: OcrRecognizeOptions = {}): Promise<OcrResult> {
      if (closed) throw closedError();
      const { signal, script } = recognizeOptions;
      const aborted = () => new SquintError("ABORTED", "OCR was aborted.", { cause: signal?.reason });
      if (signal?.aborted) throw aborted();
      // Copy: the caller keeps its buffer, and the copy is transferred rather than cloned again.
      const image =
        input instanceof Uint8Array ? new Uint8Array(input) : { ...input, data: new Uint8Array(input.data) };
      const buffer = image instanceof Uint8Array ? image.buffer : image.data.buffer;
      const current = start();
      await current.ready;
      // The engine may have been closed, or the caller may have aborted, while the worker was starting.
      if (closed) throw closedError();
      if (signal?.aborted) throw aborted();
      const { worker } = current;
      const id = nextId++;
      return new Promise<OcrResult>((resolve, reject) => {
        const onAbort = () => {
          jobs.delete(id);
          worker.postMessage({ kind: "cancel", id });
          reject(aborted());
        };
        jobs.set(id, {
          resolve: (result) => {
            signal?.removeEventListener("abort", onAbort);
            resolve(result);
          },
          reject: (error) => {
            signal?.removeEventListener("abort", onAbort);
            reject(error);
          },
        });
        signal?.addEventListener("abort", onAbort, { once: true });
        worker.ref();
        worker.postMessage({ kind: "recognize", id, image, ...(script ? { script } : {}) }, [buffer as ArrayBuffer]);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      failAll(new SquintError("ABORTED", "The OCR engine was closed during the call."));
      const current = running;
      running = undefined;
      if (!current) return;
      // Keep the process alive until the worker is gone, even though an idle worker is unref'd.
      current.worker.ref();
      const loaded = await current.ready.then(
        () => true,
        () => false,
      );
      // A worker whose load failed has no models and ends by itself.
      if (loaded) current.worker.postMessage({ kind: "close" });
      const fallback = setTimeout(() => void current.worker.terminate(), 30_000);
      await current.exited;
      clearTimeout(fallback);
    },
  };
}
