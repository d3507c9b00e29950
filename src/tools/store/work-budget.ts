import { availableParallelism } from "node:os";
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
 * for room; a large job cannot starve past `maxWaitMs` (it is then refused as BUSY, never left hanging). Jobs
 * that finish a call under way (its result's encode) wait ahead of those that start new ones (AcquireOptions).
 *
 * Two lanes: jobs over `largeJobBytes` (full-photo zooms, decodes of big originals) are large. At most
 * `maxLargeJobs` of them run at once and together they leave `smallLaneBytes` of the budget free, so the
 * small jobs a model mostly makes (a sign, a face: about a megabyte) always find room instead of waiting
 * behind a few large ones (the load bench's small-zoom p99 was 25 s). A large job that does not get the lane
 * waits in the queue like any other (BUSY only after `maxWaitMs` or when the queue is full); a lone large job
 * bigger than the large lane still runs when no other large job does, as long as it fits the whole budget.
 */
export interface WorkBudgetOptions {
  /** Pixel bytes all running jobs may hold together. */
  maxBytes: number;
  /** Jobs that may wait for room; one more is refused as BUSY at once. */
  maxQueued: number;
  /** Longest a job waits for room before it is refused as BUSY (milliseconds). */
  maxWaitMs: number;
  /** Jobs holding more than this many bytes are large (see the lanes above). */
  largeJobBytes: number;
  /** Large jobs running at once. */
  maxLargeJobs: number;
  /** Bytes of the budget large jobs leave to small ones. */
  smallLaneBytes: number;
  /**
   * Bytes of the budget held back for memory no job's estimate sees: the resize threads' own heaps (about 32
   * MiB each, measured) and what the allocator keeps around them. Other work fits beside it; a job alone still
   * runs (RESOURCE_EXHAUSTED stays measured against maxBytes), so a reserve never refuses a call.
   */
  reservedBytes: number;
  /**
   * Runs a full garbage collection (Node's `gc` under --expose-gc; `squint mcp` has it). Given, buffers a
   * finished job leaves to the GC stay counted until collected (holdUntilCollected), and work that waits for
   * them asks for a collection; not given, they are not counted (nothing could then free them on demand).
   */
  collectGarbage?: (() => void) | undefined;
}

/** Which lane a job runs in (see above); the resize pool has the same two. */
export type WorkLane = "small" | "large";

/**
 * Forced collections are paced: at most one per GC_INTERVAL_MS, and after one that took t ms, none for
 * GC_COST_FACTOR · t ms, so they take at most about a tenth of the event loop. Under the load bench a full
 * collection of the server's heap took ~58 ms, not a few: asked for every 100 ms (a large zoom was always
 * waiting), they held the event loop 36 % of the time and every small zoom waited behind them.
 */
const GC_INTERVAL_MS = 100;
const GC_COST_FACTOR = 10;
/**
 * A collection is asked for, waiting work or not, once garbage grew by more than this share of the budget
 * since the last one: an 8192² decode into a full store left its own 200 MB buffer and the 200 MB it evicted,
 * and with nothing waiting on them they stayed in RSS, past the budget, until V8 got round to them.
 */
const GC_AWAITING_SHARE = 0.25;
/** Growth past this share is collected at once, not paced: it is RSS past the budget. */
const GC_URGENT_SHARE = 0.5;

/**
 * Large jobs at once by default: half the cores, at least one. A large zoom's resize, its shrink and the
 * encoding of its result take whole cores for hundreds of milliseconds; with two of them on a 2-core machine
 * the small zooms' p99 under the load bench was 1.28–1.54 s, with one 0.98–1.00 s (bench/mcp/load.ts,
 * SQUINT_MAX_LARGE_JOBS=1 vs 2, alternating), while the large zooms still all completed.
 */
export function defaultLargeJobs(cores: number = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}

export const DEFAULT_WORK_BUDGET: Readonly<WorkBudgetOptions> = Object.freeze({
  // Four 8192² RGB images' worth (≈ 200 MB each) would be 800 MB; half that keeps a 2-core box responsive.
  maxBytes: 512 * 1024 * 1024,
  maxQueued: 256,
  maxWaitMs: 30_000,
  // A 2.8 MP RGB image with its working copies: a small zoom (≈ 1 MB) is far below, a full-photo zoom far above.
  largeJobBytes: 16 * 1024 * 1024,
  maxLargeJobs: defaultLargeJobs(),
  // Room for dozens of small zooms at once next to the large ones.
  smallLaneBytes: 64 * 1024 * 1024,
  reservedBytes: 0,
});

/** What one resize thread holds of its own (isolate, heap, code), measured with 8 threads started: ~32 MiB each. */
export const RESIZE_THREAD_RESERVE_BYTES = 32 * 1024 * 1024;

export interface WorkBudgetStats {
  runningJobs: number;
  runningBytes: number;
  runningLargeJobs: number;
  /** Bytes of finished jobs' buffers that only the garbage collector frees (see holdUntilCollected). */
  awaitingGcBytes: number;
  queuedJobs: number;
  /** Most bytes held at once since the budget was made. */
  peakBytes: number;
  /** Bytes held back for what no job counts (see WorkBudgetOptions.reservedBytes). */
  reservedBytes: number;
  /** Jobs refused as BUSY or RESOURCE_EXHAUSTED. */
  refused: number;
  /** Full collections the budget asked for (to free what waiting work needs; see holdUntilCollected). */
  forcedGcs: number;
  maxBytes: number;
}

/** How a job waits. */
export interface AcquireOptions {
  /**
   * The job finishes a call already under way (the encoding of its result): it waits ahead of jobs that start
   * new calls. Under the load bench a near-full zoom's encode (a large job) queued behind nine new near-full
   * zooms, so every one of them held its 32 MB result for ~30 s and all ten answered at the end together.
   */
  ahead?: boolean;
}

interface Waiter {
  bytes: number;
  large: boolean;
  ahead: boolean;
  start(): void;
  fail(error: SquintError): void;
}

export class WorkBudget {
  readonly options: Readonly<WorkBudgetOptions>;
  #runningBytes = 0;
  #runningJobs = 0;
  #largeBytes = 0;
  #largeJobs = 0;
  #awaitingGcBytes = 0;
  #gcTimer: NodeJS.Timeout | undefined;
  #gcDueAt = 0;
  /** Garbage still counted just after the last forced collection (see #garbageGrown). */
  #awaitingAfterGc = 0;
  #nextGcAt = 0;
  #forcedGcs = 0;
  readonly #collected = new FinalizationRegistry<number>((bytes) => {
    this.#awaitingGcBytes -= bytes;
    this.#awaitingAfterGc = Math.min(this.#awaitingAfterGc, this.#awaitingGcBytes);
    this.#drain();
  });
  #peakBytes = 0;
  #refused = 0;
  readonly #queue: Waiter[] = [];

  constructor(options: Partial<WorkBudgetOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_WORK_BUDGET, ...options });
    const { maxBytes, maxQueued, maxWaitMs, largeJobBytes, maxLargeJobs, smallLaneBytes, reservedBytes } = this.options;
    const valid =
      maxBytes > 0 &&
      Number.isInteger(maxQueued) &&
      maxQueued >= 0 &&
      maxWaitMs >= 0 &&
      largeJobBytes > 0 &&
      Number.isInteger(maxLargeJobs) &&
      maxLargeJobs >= 1 &&
      smallLaneBytes >= 0 &&
      reservedBytes >= 0 &&
      reservedBytes < maxBytes;
    if (!valid) {
      throw new SquintError(
        "INVALID_CONFIG",
        "The work budget needs maxBytes > 0, maxQueued ≥ 0, maxWaitMs ≥ 0, largeJobBytes > 0, maxLargeJobs ≥ 1, smallLaneBytes ≥ 0 and 0 ≤ reservedBytes < maxBytes.",
        {
          hint: "Check --max-work-mb, --max-queued, --max-wait-s and --max-large-jobs (SQUINT_MAX_LARGE_JOBS).",
          details: { ...this.options },
        },
      );
    }
  }

  /** Runs `job` once `bytes` of pixel work fit beside what is running; the bytes are given back when it settles. */
  async run<T>(
    bytes: number,
    what: string,
    job: () => Promise<T>,
    signal?: AbortSignal,
    options: AcquireOptions = {},
  ): Promise<T> {
    const release = await this.acquire(bytes, what, signal, options);
    try {
      return await job();
    } finally {
      release();
    }
  }

  /** The lane a job of `bytes` runs in. */
  laneOf(bytes: number): WorkLane {
    return Math.ceil(bytes) > this.options.largeJobBytes ? "large" : "small";
  }

  /** Waits for room for `bytes`; resolves to the function that gives them back (call it exactly once). */
  acquire(bytes: number, what: string, signal?: AbortSignal, options: AcquireOptions = {}): Promise<() => void> {
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
    const large = this.laneOf(need) === "large";
    // First fit: a job that fits now starts now, even past larger ones waiting for room.
    if (this.#fits(need, large)) return Promise.resolve(this.#take(need, large));
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
        large,
        ahead: options.ahead === true,
        start: () => {
          leave();
          resolve(this.#take(need, large));
        },
        fail: (error) => {
          leave();
          reject(error);
        },
      };
      // Ahead of every job that starts a new call, behind those already ahead (they keep their order).
      const firstNew = waiter.ahead ? this.#queue.findIndex((queued) => !queued.ahead) : -1;
      if (firstNew === -1) this.#queue.push(waiter);
      else this.#queue.splice(firstNew, 0, waiter);
      if (this.#heldBackByGarbage(waiter)) this.#requestGc();
      timer = setTimeout(() => {
        this.#refused++;
        waiter.fail(this.#busy(what, `it waited ${this.options.maxWaitMs} ms for memory`));
        this.#drain();
      }, this.options.maxWaitMs);
      timer.unref?.();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Keeps `bytes` counted until `target` is garbage-collected (only with collectGarbage). A finished job can
   * leave a large buffer only the GC frees — the decoder's output once copied into shared memory, 200 MB for
   * an 8192² photo — and it occupies memory until then: new work waits for it, and asks for a collection.
   */
  holdUntilCollected(target: object, bytes: number): void {
    const held = Math.max(0, Math.ceil(bytes));
    if (held === 0 || !this.options.collectGarbage) return;
    this.#awaitingGcBytes += held;
    this.#collected.register(target, held);
    if (this.#garbageGrown(GC_AWAITING_SHARE)) this.#requestGc();
  }

  stats(): WorkBudgetStats {
    return {
      runningJobs: this.#runningJobs,
      runningBytes: this.#runningBytes,
      runningLargeJobs: this.#largeJobs,
      awaitingGcBytes: this.#awaitingGcBytes,
      queuedJobs: this.#queue.length,
      peakBytes: this.#peakBytes,
      reservedBytes: this.options.reservedBytes,
      refused: this.#refused,
      forcedGcs: this.#forcedGcs,
      maxBytes: this.options.maxBytes,
    };
  }

  #fits(bytes: number, large: boolean, awaitingGc = this.#awaitingGcBytes): boolean {
    // A job runs when nothing else does, so a budget smaller than one job's estimate cannot deadlock; but not
    // on top of much garbage (a collection frees that soon, and the job waits for it). A little — the churn of
    // evicted small results, never all collected at once on a busy server — does not hold it back.
    if (this.#runningJobs === 0) {
      return awaitingGc + bytes <= this.options.maxBytes || awaitingGc <= this.options.maxBytes * GC_AWAITING_SHARE;
    }
    const held = this.#runningBytes + awaitingGc + this.options.reservedBytes;
    if (held + bytes > this.options.maxBytes) return false;
    if (!large) return true;
    if (this.#largeJobs >= this.options.maxLargeJobs) return false;
    // The first large job may eat into the small lane (it fits the whole budget); later ones may not.
    return this.#largeJobs === 0 || this.#largeBytes + bytes <= this.options.maxBytes - this.options.smallLaneBytes;
  }

  #take(bytes: number, large: boolean): () => void {
    this.#runningBytes += bytes;
    this.#runningJobs++;
    if (large) {
      this.#largeBytes += bytes;
      this.#largeJobs++;
    }
    this.#peakBytes = Math.max(this.#peakBytes, this.#runningBytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#runningBytes -= bytes;
      this.#runningJobs--;
      if (large) {
        this.#largeBytes -= bytes;
        this.#largeJobs--;
      }
      this.#drain();
    };
  }

  /** Starts every waiting job that now fits, in arrival order (first fit). */
  #drain(): void {
    for (const waiter of [...this.#queue]) {
      if (this.#fits(waiter.bytes, waiter.large)) waiter.start();
    }
    if (this.#garbageGrown(GC_AWAITING_SHARE) || this.#queue.some((waiter) => this.#heldBackByGarbage(waiter))) {
      this.#requestGc();
    }
  }

  /**
   * Whether garbage grew by more than `share` of the budget since the last forced collection had its effect:
   * what that collection could not free is alive still (an evicted image being encoded), and collecting again
   * and again would not free it either.
   */
  #garbageGrown(share: number): boolean {
    return this.#awaitingGcBytes - this.#awaitingAfterGc > this.options.maxBytes * share;
  }

  /**
   * Whether `waiter` waits only for garbage: it does not fit now but would once the collector freed what it
   * holds. A job waiting for a large-job slot, or for running work to finish, gains nothing from a collection.
   */
  #heldBackByGarbage(waiter: Waiter): boolean {
    return (
      this.#awaitingGcBytes > 0 && !this.#fits(waiter.bytes, waiter.large) && this.#fits(waiter.bytes, waiter.large, 0)
    );
  }

  /**
   * One collection soon, paced (GC_INTERVAL_MS, GC_COST_FACTOR) unless garbage is past GC_URGENT_SHARE: then
   * at once, even if a paced one was already due later. The finalizers it lets run call #drain again.
   */
  #requestGc(): void {
    const collect = this.options.collectGarbage;
    if (!collect) return;
    const urgent = this.#garbageGrown(GC_URGENT_SHARE);
    const at = urgent ? Date.now() : Math.max(Date.now(), this.#nextGcAt);
    if (this.#gcTimer && this.#gcDueAt <= at) return;
    if (this.#gcTimer) clearTimeout(this.#gcTimer);
    this.#gcDueAt = at;
    this.#gcTimer = setTimeout(() => {
      this.#gcTimer = undefined;
      const start = performance.now();
      collect();
      this.#forcedGcs++;
      const took = performance.now() - start;
      this.#nextGcAt = Date.now() + Math.max(GC_INTERVAL_MS, GC_COST_FACTOR * took);
      // After the finalizers have run: work still held back by garbage (alive at this collection, dead by
      // the next) asks again, paced, rather than waiting for some other job's end to look.
      setImmediate(() => {
        this.#awaitingAfterGc = this.#awaitingGcBytes;
        this.#drain();
      }).unref?.();
    }, at - Date.now());
    this.#gcTimer.unref?.();
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
