import { SquintError } from "../../errors.js";

/**
 * When and how long to wait before sending a request again. Only failures that say "try later" are
 * retried: 408/429/5xx answers and connections that failed or were reset before the reply began. A reply
 * that already streamed text is never re-sent — the caller would see it twice.
 */

export interface RetryOptions {
  /** Attempts after the first. Default 3. */
  retries?: number | undefined;
  /** First wait; doubles each attempt (with ±25% jitter). Default 500 ms. */
  baseDelayMs?: number | undefined;
  /** Longest wait, also the cap on a server's Retry-After. Default 10 s. */
  maxDelayMs?: number | undefined;
}

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** undici and Node error codes of connections that failed or dropped without an answer. */
const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_CLOSED",
]);

export function isRetryableNetworkError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && RETRYABLE_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Seconds or an HTTP date, as servers send in Retry-After; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** How long to wait before attempt `attempt + 1` (attempt 0 failed first). */
export function retryDelay(
  attempt: number,
  options: RetryOptions,
  retryAfterMs?: number,
  random = Math.random,
): number {
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 10_000;
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, max);
  const exponential = base * 2 ** attempt;
  const jitter = 0.75 + random() * 0.5;
  return Math.min(max, Math.round(exponential * jitter));
}

/** Waits, waking early (with an ABORTED error) if the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new SquintError("ABORTED", "The request was aborted."));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new SquintError("ABORTED", "The request was aborted."));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
