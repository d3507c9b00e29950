/**
 * The decoded pixels kept by image stores, counted together. A store on its own gets its own PixelMemory
 * (its `maxStoreBytes`); the MCP server gives every session's store the same one, so sessions are isolated
 * (each store knows only its own ids) while the process holds at most one budget of pixels: the least
 * recently used unpinned pixels of any session are dropped first.
 */
export interface PixelHolder {
  /** The pixels' byte length while held; 0 after they were dropped. */
  readonly heldBytes: number;
  /** Pinned holders are never dropped. */
  readonly pinned: boolean;
  /** Drops the pixels (the store keeps its record without them); returns their buffer, if there were any. */
  drop(): ArrayBufferLike | undefined;
}

/**
 * Told of pixels just dropped: their buffer is garbage now, but its memory comes back only when the garbage
 * collector frees it (the work budget counts it till then: WorkBudget.holdUntilCollected).
 */
export type DroppedPixels = (buffer: ArrayBufferLike, bytes: number) => void;

export class PixelMemory {
  readonly maxBytes: number;
  #used = 0;
  /** Insertion order is recency order: touching a holder moves it to the end. */
  readonly #holders = new Map<PixelHolder, number>();
  /** Set once by whoever owns the process's work budget (the first ImageStore over this memory). */
  onDropped: DroppedPixels | undefined;
  /**
   * Bytes to keep free below maxBytes for memory no budget counts (uncounted-memory.ts; the MCP server sets
   * it). Eviction keeps to maxBytes − pressure; nothing is refused for it, only unpinned pixels dropped.
   */
  pressure: (() => number) | undefined;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Stops counting `holder` and drops its pixels, telling onDropped. */
  drop(holder: PixelHolder): void {
    const bytes = holder.heldBytes;
    this.remove(holder);
    const buffer = holder.drop();
    if (buffer && bytes > 0) this.onDropped?.(buffer, bytes);
  }

  get usedBytes(): number {
    return this.#used;
  }

  /** Counts `holder`'s bytes (again, if it was counted before) as the most recently used. */
  add(holder: PixelHolder): void {
    this.remove(holder);
    this.#holders.set(holder, holder.heldBytes);
    this.#used += holder.heldBytes;
  }

  touch(holder: PixelHolder): void {
    const bytes = this.#holders.get(holder);
    if (bytes === undefined) return;
    this.#holders.delete(holder);
    this.#holders.set(holder, bytes);
  }

  /** Stops counting `holder` (its pixels were dropped or its store is gone). */
  remove(holder: PixelHolder): void {
    const bytes = this.#holders.get(holder);
    if (bytes === undefined) return;
    this.#holders.delete(holder);
    this.#used -= bytes;
  }

  /**
   * Holds room for `bytes` of pixels about to be decoded: counted, and evicting others, from now, so what the
   * eviction leaves to the garbage collector is collected before the decode holds its own buffers, not while
   * (an 8192² decode into a full store had its 400 MB and the 200 MB it evicted in RSS at once). The returned
   * function gives the room back; call it just before adding the decoded pixels.
   */
  reserve(bytes: number): () => void {
    const room: PixelHolder = { heldBytes: bytes, pinned: true, drop: () => undefined };
    this.add(room);
    this.evict(room);
    return () => this.remove(room);
  }

  /** Drops least-recently-used unpinned pixels until the total fits (never `keep`), less any pressure. */
  evict(keep?: PixelHolder): void {
    const limit = this.maxBytes - Math.max(0, this.pressure?.() ?? 0);
    if (this.#used <= limit) return;
    // Deleting the entry being visited is safe in a Map's iteration: no copy of a thousand keys per call.
    for (const holder of this.#holders.keys()) {
      if (this.#used <= limit) break;
      if (holder === keep || holder.pinned) continue;
      this.drop(holder);
    }
  }
}
