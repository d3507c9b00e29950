import { SquintError } from "../../errors.js";

/**
 * Admission for pixel work. Every decode, zoom, rotation, enhancement, OCR crop and encode says up front how
 * many bytes of pixels it will hold while it runs; the budget lets it start when that fits beside the work
 * already running, queues it (bounded, for a bounded time) when it does not, and refuses it with a typed
 * error instead of letting memory grow with the requests in flight:
 * - BUSY: the queue is full, or the job waited `maxWaitMs` — the caller should retry later;
 * - RESOURCE_EXHAUSTED: the job alone needs more than the whole budget — retrying cannot help.
 *
 * The queue is served first-fit in arrival order, so a small zoom is not held behind a large one that waits
 * for room; a large job cannot starve past `maxWaitMs` (it is then refused as BUSY, never left hanging).
 */
export interface WorkBudgetOptions {
  /** Pixel bytes all running jobs may hold together. */
  maxBytes: number;
  /** Jobs that may wait for room; one more is refused as BUSY at once. */
  maxQueued: number;
  /** Longest a job waits for room before it is refused as BUSY (milliseconds). */
  maxWaitMs: number;
}

export const DEFAULT_WORK_BUDGET: Readonly<WorkBudgetOptions> = Object.freeze({
  // Four 8192² RGB images' worth (≈ 200 MB each) would be 800 MB; half that keeps a 2-core box responsive.
  maxBytes: 512 * 1024 * 1024,
  maxQueued: 256,
  maxWaitMs: 30_000,
});

export interface WorkBudgetStats {
  runningJobs: number;
  runningBytes: number;
  queuedJobs: number;
  /** Most bytes held at once since the budget was made. */
  peakBytes: number;
  /** Jobs refused as BUSY or RESOURCE_EXHAUSTED. */
  refused: number;
  maxBytes: number;
}

interface Waiter {
  bytes: number;
  start(): void;
  fail(error: SquintError): void;
}

export class WorkBudget {
  readonly options: Readonly<WorkBudgetOptions>;
  #runningBytes = 0;
  #runningJobs = 0;
  #peakBytes = 0;
  #refused = 0;
  readonly #queue: Waiter[] = [];

  constructor(options: Partial<WorkBudgetOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_WORK_BUDGET, ...options });
    const { maxBytes, maxQueued, maxWaitMs } = this.options;
    if (!(maxBytes > 0) || !Number.isInteger(maxQueued) || maxQueued < 0 || !(maxWaitMs >= 0)) {
      throw new SquintError("INVALID_CONFIG", "The work budget needs maxBytes > 0, maxQueued ≥ 0 and maxWaitMs ≥ 0.", {
        hint: "Check --max-work-mb, --max-queued and --max-wait-s.",
        details: { ...this.options },
      });
    }
  }

  /** Runs `job` once `bytes` of pixel work fit beside what is running; the bytes are given back when it settles. */
  async run<T>(bytes: number, what: string, job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(bytes, what, signal);
    try {
      return await job();
    } finally {
      release();
    }
  }

  /** Waits for room for `bytes`; resolves to the function that gives them back (call it exactly once). */
  acquire(bytes: number, what: string, signal?: AbortSignal): Promise<() => void> {
    const need = Math.max(0, Math.ceil(bytes));
    signal?.throwIfAborted();
    if (need > this.options.maxBytes) {
      this.#refused++;
      return Promise.reject(
        new SquintError(
          "RESOURCE_EXHAUSTED",
          `${what} needs ${mib(need)} MiB of pixel memory; this server's whole work budget is ${mib(this.options.maxBytes)} MiB.`,
          {
            hint: "Use a smaller image or region (crop first, then zoom), or raise the work budget (--max-work-mb).",
            details: { bytes: need, maxBytes: this.options.maxBytes },
          },
        ),
      );
    }
    // First fit: a job that fits now starts now, even past larger ones waiting for room.
    if (this.#fits(need)) return Promise.resolve(this.#take(need));
    if (this.#queue.length >= this.options.maxQueued) {
      this.#refused++;
      return Promise.reject(this.#busy(what, "the queue of waiting work is full"));
    }
    return new Promise<() => void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = () => {
        const at = this.#queue.indexOf(waiter);
        if (at !== -1) this.#queue.splice(at, 1);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        leave();
        reject(
          new SquintError("ABORTED", `${what} was cancelled while it waited for memory.`, { cause: signal?.reason }),
        );
        this.#drain();
      };
      const waiter: Waiter = {
        bytes: need,
        start: () => {
          leave();
          resolve(this.#take(need));
        },
        fail: (error) => {
          leave();
          reject(error);
        },
      };
      this.#queue.push(waiter);
      timer = setTimeout(() => {
        this.#refused++;
        waiter.fail(this.#busy(what, `it waited ${this.options.maxWaitMs} ms for memory`));
        this.#drain();
      }, this.options.maxWaitMs);
      timer.unref?.();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  stats(): WorkBudgetStats {
    return {
      runningJobs: this.#runningJobs,
      runningBytes: this.#runningBytes,
      queuedJobs: this.#queue.length,
      peakBytes: this.#peakBytes,
      refused: this.#refused,
      maxBytes: this.options.maxBytes,
    };
  }

  #fits(bytes: number): boolean {
    // A job always runs when nothing else does, so a budget smaller than one job's estimate cannot deadlock.
    return this.#runningJobs === 0 || this.#runningBytes + bytes <= this.options.maxBytes;
  }

  #take(bytes: number): () => void {
    this.#runningBytes += bytes;
    this.#runningJobs++;
    this.#peakBytes = Math.max(this.#peakBytes, this.#runningBytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#runningBytes -= bytes;
      this.#runningJobs--;
      this.#drain();
    };
  }

  /** Starts every waiting job that now fits, in arrival order (first fit). */
  #drain(): void {
    for (const waiter of [...this.#queue]) {
      if (this.#fits(waiter.bytes)) waiter.start();
    }
  }

  #busy(what: string, why: string): SquintError {
    return new SquintError("BUSY", `${what} was not started: ${why} (the server is at its pixel work budget).`, {
      hint: "Retry in a few seconds; a smaller image or region needs less memory and starts sooner.",
      details: { ...this.stats(), maxQueued: this.options.maxQueued, maxWaitMs: this.options.maxWaitMs },
    });
  }
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

let processBudget: WorkBudget | undefined;

/** The budget every ImageStore shares unless it is given its own: one per process, made on first use. */
export function processWorkBudget(): WorkBudget {
  processBudget ??= new WorkBudget();
  return processBudget;
}

/** Replaces the process-wide budget (the CLI does this from its flags before any store is made). */
export function configureProcessWorkBudget(options: Partial<WorkBudgetOptions>): WorkBudget {
  processBudget = new WorkBudget(options);
  return processBudget;
}
