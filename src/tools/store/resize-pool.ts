import { Worker } from "node:worker_threads";
import { SquintError } from "../../errors.js";
import type { RawImage } from "../../model/vision.js";
import { cropPixels, type PixelRect } from "./raw-crop.js";
import { defaultLargeJobs, type WorkLane } from "./work-budget.js";

/**
 * Zoom resizes off the main thread. The zoom's Pillow-exact bicubic is JavaScript (sharp samples off Pillow's
 * grid, see model/vision.ts): one 8192² resize held the event loop for ~1.4 s, and even the small ones (20–30
 * ms each) added up to seconds of queueing under fifty clients. Every resize, and the crop before it, runs in
 * a worker thread, in one of two lanes:
 * - small: its own threads (default 2), so a small zoom never waits behind a large resize;
 * - large: `largeThreads` threads at a lower CPU priority (nice `largeNice`), so on a busy machine the kernel
 *   gives the small lane's threads and the event loop the CPU first.
 *
 * An original decoded into a SharedArrayBuffer (the store does that) is handed to the thread as it is, not
 * copied; the thread crops it itself. Other pixels are cropped on the calling thread (a fresh crop is moved
 * to the thread, not copied). Threads start on first use and are unref'd while idle, so the pool never keeps
 * a process alive.
 */
export interface ResizePoolOptions {
  /** Threads for small resizes (default 2). */
  smallThreads?: number;
  /** Threads for large resizes (default: the work budget's default maxLargeJobs, half the cores). */
  largeThreads?: number;
  /** Niceness the large lane's threads give themselves (default 5; 0 leaves them as they are). */
  largeNice?: number;
}

export const DEFAULT_RESIZE_POOL: Readonly<Required<ResizePoolOptions>> = Object.freeze({
  smallThreads: 2,
  largeThreads: defaultLargeJobs(),
  largeNice: 5,
});

interface Job {
  resolve(image: RawImage): void;
  reject(error: Error): void;
}

interface PoolWorker {
  worker: Worker;
  jobs: Map<number, Job>;
}

/** What a resize thread is sent (resize-worker.ts). */
export interface ResizeRequest {
  id: number;
  width: number;
  height: number;
  data: Uint8Array;
  /** Crop this rectangle of the pixels first (when absent: resize them whole). */
  rect?: PixelRect;
  outWidth: number;
  outHeight: number;
}

interface ResizeResponse {
  id: number;
  width?: number;
  height?: number;
  data?: Uint8Array;
  error?: string;
}

function spawn(nice: number): Worker {
  const workerData = { nice };
  if (!import.meta.url.endsWith(".ts")) {
    return new Worker(new URL("./resize-worker.js", import.meta.url), { workerData });
  }
  // From source (tests, tsx): register tsx inside the thread first (Node does not carry --import into workers).
  const target = new URL("./resize-worker.ts", import.meta.url).href;
  const bootstrap = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

function isShared(data: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== "undefined" && data.buffer instanceof SharedArrayBuffer;
}

function wholeBuffer(data: Uint8Array): boolean {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
}

/** One lane: a fixed number of threads, each job to the least busy one. */
class Lane {
  readonly #workers: PoolWorker[] = [];
  #closed = false;

  constructor(
    readonly threads: number,
    readonly nice: number,
  ) {}

  pending(): number {
    return this.#workers.reduce((sum, slot) => sum + slot.jobs.size, 0);
  }

  run(request: ResizeRequest, transfer: ArrayBuffer[]): Promise<RawImage> {
    const slot = this.#pick();
    return new Promise<RawImage>((resolve, reject) => {
      slot.jobs.set(request.id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage(request, transfer);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers.splice(0);
    await Promise.all(workers.map((slot) => slot.worker.terminate()));
  }

  #pick(): PoolWorker {
    const idle = this.#workers.find((slot) => slot.jobs.size === 0);
    if (idle) return idle;
    if (this.#workers.length < this.threads) return this.#start();
    return this.#workers.reduce((best, slot) => (slot.jobs.size < best.jobs.size ? slot : best));
  }

  #start(): PoolWorker {
    const slot: PoolWorker = { worker: spawn(this.nice), jobs: new Map() };
    this.#workers.push(slot);
    slot.worker.unref();
    slot.worker.on("message", (response: ResizeResponse) => {
      const job = slot.jobs.get(response.id);
      slot.jobs.delete(response.id);
      if (slot.jobs.size === 0) slot.worker.unref();
      if (!job) return;
      if (response.error !== undefined || !response.data || !response.width || !response.height) {
        job.reject(new SquintError("TOOL_FAILED", `Resizing failed: ${response.error ?? "no pixels came back"}.`));
      } else {
        job.resolve({ width: response.width, height: response.height, data: response.data });
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

export class ResizePool {
  readonly options: Readonly<Required<ResizePoolOptions>>;
  readonly #lanes: Record<WorkLane, Lane>;
  #nextId = 1;
  #closed = false;

  constructor(options: ResizePoolOptions = {}) {
    this.options = Object.freeze({ ...DEFAULT_RESIZE_POOL, ...options });
    const { smallThreads, largeThreads, largeNice } = this.options;
    for (const [name, value] of [
      ["smallThreads", smallThreads],
      ["largeThreads", largeThreads],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new SquintError("INVALID_CONFIG", `The resize pool needs ${name} ≥ 1, got ${value}.`, {
          hint: "Give a whole number of threads of 1 or more (--resize-threads, --max-large-jobs).",
        });
      }
    }
    if (!Number.isInteger(largeNice) || largeNice < 0 || largeNice > 19) {
      throw new SquintError("INVALID_CONFIG", `The large lane's niceness must be 0–19, got ${largeNice}.`, {
        hint: "Give a whole number from 0 (no change) to 19 (lowest priority).",
      });
    }
    this.#lanes = { small: new Lane(smallThreads, 0), large: new Lane(largeThreads, largeNice) };
  }

  /**
   * Crops `rect` of `image` (the whole image when absent) and resizes it with Pillow-exact bicubic (as
   * resizeBicubicSync), in a thread of `lane`. `image.data` is never detached: shared pixels are read in
   * place, others are cropped (or copied) first.
   */
  async resize(
    image: RawImage,
    width: number,
    height: number,
    options: { rect?: PixelRect; lane?: WorkLane } = {},
  ): Promise<RawImage> {
    if (this.#closed) {
      throw new SquintError("TOOL_FAILED", "The resize pool is closed.", { hint: "Retry the call." });
    }
    const id = this.#nextId++;
    const lane = this.#lanes[options.lane ?? "small"];
    if (isShared(image.data)) {
      const request: ResizeRequest = { id, ...image, outWidth: width, outHeight: height };
      if (options.rect) request.rect = options.rect;
      return lane.run(request, []);
    }
    const rect = options.rect ?? { left: 0, top: 0, width: image.width, height: image.height };
    // The source buffer is transferred to the thread, so it must be the job's own: cropPixels hands back the
    // image itself for the whole rectangle, and the store's pixels are shared.
    const cropped = cropPixels(image, rect);
    const source = cropped === image ? { ...image, data: image.data.slice() } : cropped;
    const request: ResizeRequest = { id, ...source, outWidth: width, outHeight: height };
    return lane.run(request, wholeBuffer(source.data) ? [source.data.buffer as ArrayBuffer] : []);
  }

  /** Jobs in the threads now, in one lane or in both (for stats and tests). */
  pending(lane?: WorkLane): number {
    return lane ? this.#lanes[lane].pending() : this.#lanes.small.pending() + this.#lanes.large.pending();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#lanes.small.close(), this.#lanes.large.close()]);
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
