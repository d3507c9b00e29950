import { SquintError } from "../errors.js";

/**
 * Bounded, fair admission to one scarce thing (the model, the OCR engine). `enqueue` decides at once: a
 * place in the queue, or QUEUE_FULL (→ 429 + Retry-After) — before the request's images are decoded, so a
 * burst is refused cheaply (vLLM #58192 is the counter-example). Places are granted round-robin over
 * clients, so one client with many requests in flight does not starve another with one. A waiting request
 * whose client goes away (its signal aborts) leaves the queue; one that waits past `queueTimeoutMs` is
 * refused with TIMEOUT.
 */

export interface AdmissionOptions {
  /** What is admitted, for messages ("the model", "OCR"). */
  name: string;
  concurrency: number;
  maxQueued: number;
  queueTimeoutMs: number;
}

export interface Ticket {
  /** Resolves when the request may run; rejects with ABORTED or TIMEOUT. */
  readonly granted: Promise<void>;
  /** Seconds spent waiting (set once granted). */
  readonly waitedMs: number;
  /** Frees the place (running or still waiting). Safe to call more than once. */
  release(): void;
}

interface Waiter {
  client: string;
  enqueuedAt: number;
  grant: () => void;
  fail: (error: SquintError) => void;
}

/** Service times remembered for the Retry-After estimate. */
const SERVICE_WINDOW = 32;

export class FairQueue {
  readonly name: string;
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly #queueTimeoutMs: number;
  /** Per client, its waiters in arrival order; Map order is the round-robin order. */
  readonly #byClient = new Map<string, Waiter[]>();
  #waiting = 0;
  #running = 0;
  readonly #serviceMs: number[] = [];

  constructor(options: AdmissionOptions) {
    this.name = options.name;
    this.concurrency = options.concurrency;
    this.maxQueued = options.maxQueued;
    this.#queueTimeoutMs = options.queueTimeoutMs;
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting;
  }

  /** Seconds a new request would likely wait: queue length × mean service time ÷ concurrency, at least 1. */
  retryAfterSeconds(): number {
    const mean =
      this.#serviceMs.length === 0 ? 1000 : this.#serviceMs.reduce((a, b) => a + b, 0) / this.#serviceMs.length;
    return Math.max(1, Math.ceil((((this.#waiting + 1) / this.concurrency) * mean) / 1000));
  }

  /** Whether a request arriving now would be refused (every place taken, the queue at its limit). */
  get full(): boolean {
    return !(this.#running < this.concurrency && this.#waiting === 0) && this.#waiting >= this.maxQueued;
  }

  /** The QUEUE_FULL error a refused request gets, with its Retry-After estimate. */
  fullError(): SquintError {
    const retryAfter = this.retryAfterSeconds();
    return new SquintError("QUEUE_FULL", `The queue for ${this.name} is full (${this.maxQueued} waiting).`, {
      hint: `Retry after ${retryAfter} s (Retry-After), or raise the server's queue limit.`,
      details: { retryAfterSeconds: retryAfter, waiting: this.#waiting, running: this.#running },
    });
  }

  /** A place for `client`, or QUEUE_FULL thrown synchronously. */
  enqueue(client: string, signal?: AbortSignal): Ticket {
    if (signal?.aborted) throw new SquintError("ABORTED", "The client went away before the request was admitted.");
    const direct = this.#running < this.concurrency && this.#waiting === 0;
    if (!direct && this.#waiting >= this.maxQueued) throw this.fullError();
    const enqueuedAt = performance.now();
    let state: "waiting" | "running" | "done" = "waiting";
    let startedAt = enqueuedAt;
    let waitedMs = 0;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    let queued: Waiter | undefined;
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    };
    const granted = new Promise<void>((resolve, reject) => {
      const grant = () => {
        state = "running";
        this.#running++;
        startedAt = performance.now();
        waitedMs = startedAt - enqueuedAt;
        cleanup();
        resolve();
      };
      const fail = (error: SquintError) => {
        state = "done";
        cleanup();
        reject(error);
      };
      if (direct) {
        grant();
        return;
      }
      const waiter: Waiter = { client, enqueuedAt, grant, fail };
      queued = waiter;
      const list = this.#byClient.get(client);
      if (list) list.push(waiter);
      else this.#byClient.set(client, [waiter]);
      this.#waiting++;
      timer = setTimeout(() => {
        if (this.#remove(waiter)) {
          fail(
            new SquintError("TIMEOUT", `Waited ${this.#queueTimeoutMs} ms for ${this.name} without being admitted.`, {
              hint: "The server is overloaded: retry later, or raise its queue timeout.",
            }),
          );
        }
      }, this.#queueTimeoutMs);
      timer.unref?.();
      onAbort = () => {
        if (this.#remove(waiter)) fail(new SquintError("ABORTED", "The client went away while queued."));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    // A caller that gives up on `granted` (its decode failed) must not leave an unhandled rejection behind.
    granted.catch(() => undefined);
    const ticket: Ticket = {
      granted,
      get waitedMs() {
        return waitedMs;
      },
      release: () => {
        if (state === "running") {
          state = "done";
          this.#running--;
          this.#serviceMs.push(performance.now() - startedAt);
          if (this.#serviceMs.length > SERVICE_WINDOW) this.#serviceMs.shift();
          this.#next();
        } else if (state === "waiting") {
          state = "done";
          if (queued) this.#remove(queued);
          cleanup();
        }
      },
    };
    return ticket;
  }

  #remove(waiter: Waiter): boolean {
    const list = this.#byClient.get(waiter.client);
    const index = list?.indexOf(waiter) ?? -1;
    if (!list || index === -1) return false;
    list.splice(index, 1);
    if (list.length === 0) this.#byClient.delete(waiter.client);
    this.#waiting--;
    return true;
  }

  /** Grants places while there is room: the first waiter of the next client in turn. */
  #next(): void {
    while (this.#running < this.concurrency && this.#waiting > 0) {
      const [client, list] = this.#byClient.entries().next().value as [string, Waiter[]];
      const waiter = list.shift()!;
      this.#byClient.delete(client);
      // The client goes to the back of the round-robin order with whatever it still has waiting.
      if (list.length > 0) this.#byClient.set(client, list);
      this.#waiting--;
      waiter.grant();
    }
  }
}
