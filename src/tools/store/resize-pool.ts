import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { SquintError } from "../../errors.js";
import { type RawImage, resizeBicubicSync } from "../../model/vision.js";

/**
 * Pixel loops off the main thread. The zoom's Pillow-exact bicubic is JavaScript (sharp samples off Pillow's
 * grid, see model/vision.ts), and one 8192² resize held the event loop for ~1.4 s, stalling every other
 * session. Resizes above `inlinePixels` go to a small pool of worker threads; tiny ones (a few ms) stay
 * on the main thread, where a thread hop would cost more than the work.
 *
 * Threads start on first use and are unref'd while idle, so the pool never keeps a process alive.
 */
export interface ResizePoolOptions {
  /** Worker threads (default: cores − 1, at least 1, at most 4). */
  threads?: number;
  /** Resizes whose input plus output pixels are at most this run inline on the calling thread. */
  inlinePixels?: number;
}

/** About 20–30 ms of bicubic on one core: a small zoom (the model's usual 512² result) costs less than a thread hop. */
export const DEFAULT_INLINE_RESIZE_PIXELS = 1_000_000;

interface Job {
  resolve(image: RawImage): void;
  reject(error: Error): void;
}

interface PoolWorker {
  worker: Worker;
  jobs: Map<number, Job>;
}

interface ResizeResponse {
  id: number;
  width?: number;
  height?: number;
  data?: Uint8Array;
  error?: string;
}

function spawn(): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./resize-worker.js", import.meta.url));
  // From source (tests, tsx): register tsx inside the thread first (Node does not carry --import into workers).
  const target = new URL("./resize-worker.ts", import.meta.url).href;
  const bootstrap = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(bootstrap, { eval: true });
}

export class ResizePool {
  readonly threads: number;
  readonly inlinePixels: number;
  readonly #workers: PoolWorker[] = [];
  #nextId = 1;
  #next = 0;
  #closed = false;

  constructor(options: ResizePoolOptions = {}) {
    this.threads = options.threads ?? Math.min(4, Math.max(1, availableParallelism() - 1));
    this.inlinePixels = options.inlinePixels ?? DEFAULT_INLINE_RESIZE_PIXELS;
    if (!Number.isInteger(this.threads) || this.threads < 1) {
      throw new SquintError("INVALID_CONFIG", `The resize pool needs at least one thread, got ${this.threads}.`, {
        hint: "Give a whole number of threads of 1 or more.",
      });
    }
  }

  /**
   * Bicubic resize (Pillow's, exactly as resizeBicubicSync). `transfer`: the caller gives up `image.data`
   * (it is moved to the thread, not copied); otherwise the pixels are copied first, since the store's own
   * buffers are shared and must not be detached.
   */
  async resize(
    image: RawImage,
    width: number,
    height: number,
    options: { transfer?: boolean } = {},
  ): Promise<RawImage> {
    if (image.width * image.height + width * height <= this.inlinePixels || this.#closed) {
      return resizeBicubicSync(image, width, height);
    }
    const data =
      options.transfer && image.data.byteOffset === 0 && image.data.byteLength === image.data.buffer.byteLength
        ? image.data
        : new Uint8Array(image.data);
    const slot = this.#pick();
    const id = this.#nextId++;
    return new Promise<RawImage>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage(
        { id, width: image.width, height: image.height, data, outWidth: width, outHeight: height },
        [data.buffer as ArrayBuffer],
      );
    });
  }

  /** Jobs in the threads now (for stats and tests). */
  pending(): number {
    return this.#workers.reduce((sum, slot) => sum + slot.jobs.size, 0);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers.splice(0);
    await Promise.all(workers.map((slot) => slot.worker.terminate()));
  }

  /** The least busy thread, starting a new one while there are fewer than `threads`. */
  #pick(): PoolWorker {
    const idle = this.#workers.find((slot) => slot.jobs.size === 0);
    if (idle) return idle;
    if (this.#workers.length < this.threads) return this.#start();
    this.#next = (this.#next + 1) % this.#workers.length;
    return this.#workers.reduce(
      (best, slot) => (slot.jobs.size < best.jobs.size ? slot : best),
      this.#workers[this.#next]!,
    );
  }

  #start(): PoolWorker {
    const slot: PoolWorker = { worker: spawn(), jobs: new Map() };
    this.#workers.push(slot);
    slot.worker.unref();
    slot.worker.on("message", (response: ResizeResponse) => {
      const job = slot.jobs.get(response.id);
      slot.jobs.delete(response.id);
      if (slot.jobs.size === 0) slot.worker.unref();
      if (!job) return;
      if (response.error !== undefined || !response.data) {
        job.reject(new SquintError("TOOL_FAILED", `Resizing failed: ${response.error ?? "no pixels came back"}.`));
      } else {
        job.resolve({ width: response.width!, height: response.height!, data: response.data });
      }
    });
    const died = (cause: unknown) => {
      const at = this.#workers.indexOf(slot);
      if (at !== -1) this.#workers.splice(at, 1);
      const error = new SquintError("TOOL_FAILED", "A resize thread stopped unexpectedly.", {
        hint: "Retry the call.",
        cause,
      });
      for (const job of slot.jobs.values()) job.reject(error);
      slot.jobs.clear();
    };
    slot.worker.on("error", died);
    slot.worker.on("exit", (code) => {
      if (!this.#closed) died({ exitCode: code });
    });
    return slot;
  }
}

let processPool: ResizePool | undefined;

/** The pool every zoom shares: one per process. */
export function processResizePool(): ResizePool {
  processPool ??= new ResizePool();
  return processPool;
}

/** Replaces the process-wide pool (the CLI, from its flags). */
export function configureProcessResizePool(options: ResizePoolOptions): ResizePool {
  const previous = processPool;
  processPool = new ResizePool(options);
  void previous?.close();
  return processPool;
}
