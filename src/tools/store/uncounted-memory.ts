import type { PixelMemory } from "./pixel-memory.js";
import type { WorkBudget } from "./work-budget.js";

/**
 * Memory the process holds beyond what its budgets count: RSS above the idle process, less the store's pixels
 * and the work budget's bytes (running, awaiting the GC, reserved). The budgets count what they can name — a
 * decode's output, a zoom's buffers, evicted pixels until collected — but not everything: the resize threads'
 * garbage until their own collections, the JavaScript heap that fifty sessions grow, libvips' working memory.
 * Under the load bench that was up to ~120 MiB at the peaks (RSS 1.66 GiB over idle against a 1.5 GiB budget).
 *
 * The store, a cache, gives that much back (PixelMemory.pressure): it keeps its pixels under its budget less
 * what is uncounted, so RSS − idle stays within store + work. Never more than `maxShare` of the store's budget:
 * a store squeezed to nothing would evict originals right after decoding them and decode them again forever.
 */
export interface UncountedMemoryOptions {
  memory: PixelMemory;
  work: WorkBudget;
  /** RSS of the idle process (default: now, when this is made). */
  baselineBytes?: number;
  /** The largest part of the store's budget it gives back (default 0.5). */
  maxShare?: number;
  /** Resident set size now (default process.memoryUsage.rss). */
  rss?: () => number;
  /** Reuse an RSS reading this long (default RSS_READING_MS). */
  rssReadingMs?: number;
}

export const DEFAULT_UNCOUNTED_MAX_SHARE = 0.5;

/**
 * RSS is read at most this often. A reading is a read of /proc/self/stat: microseconds on an idle process,
 * but under the load bench, with resize and libvips threads mapping and unmapping buffers, the store's
 * reading on every eviction took 9 % of the event loop (CPU profile of the server).
 */
export const RSS_READING_MS = 100;

export function uncountedMemory(options: UncountedMemoryOptions): () => number {
  const readRss = options.rss ?? (() => process.memoryUsage.rss());
  const readingMs = options.rssReadingMs ?? RSS_READING_MS;
  let reading = readRss();
  let readAt = performance.now();
  const rss = () => {
    const now = performance.now();
    if (now - readAt >= readingMs) {
      reading = readRss();
      readAt = now;
    }
    return reading;
  };
  const baseline = options.baselineBytes ?? reading;
  const cap = options.memory.maxBytes * (options.maxShare ?? DEFAULT_UNCOUNTED_MAX_SHARE);
  return () => {
    const work = options.work.stats();
    const counted = options.memory.usedBytes + work.runningBytes + work.awaitingGcBytes + work.reservedBytes;
    return Math.min(cap, Math.max(0, rss() - baseline - counted));
  };
}
