import { SquintError } from "../../errors.js";
import type { RawImage } from "../../model/vision.js";
import { type PixelHolder, PixelMemory } from "./pixel-memory.js";

/**
 * Decoded originals shared by every store that uses the same registry, keyed by the content hash of their
 * encoded bytes. The MCP server makes one store per HTTP session; before this, fifty sessions zooming the same
 * photo each decoded their own 33 MB copy, more than the whole pixel budget, so they evicted and re-decoded
 * each other's without end. Now the pixels are decoded once and counted once; each store still hands out its
 * own unguessable id for them, so a session only ever sees the ids it was given (isolation is by id, not by
 * pixels: two sessions that hold the same file's bytes could each read it anyway).
 *
 * A DecodedOriginal lives while some store refers to it (`refs`); its pixels may be evicted in between (LRU,
 * like any other pixels) unless some store pins it (`pins`, the sum over the stores). One store forgetting or
 * disposing of its reference never drops the pixels another store still refers to.
 */
export interface OriginalHeader {
  width: number;
  height: number;
  /** Input format ("JPEG", "PNG", …). */
  format: string;
  exifOrientation?: number;
}

export interface DecodedPixels {
  pixels: RawImage;
  header: OriginalHeader;
}

export class DecodedOriginal implements PixelHolder {
  pixels: RawImage | undefined;
  header: OriginalHeader | undefined;
  /** Store records that refer to this original (one per store that ingested these bytes). */
  refs = 0;
  /** Pins summed over those stores, plus the temporary holds of ingests in progress. */
  pins = 0;
  /** The decode in progress, shared by every store that asks meanwhile. */
  pending: Promise<void> | undefined;

  constructor(readonly hash: string) {}

  get heldBytes(): number {
    return this.pixels?.data.byteLength ?? 0;
  }

  get pinned(): boolean {
    return this.pins > 0;
  }

  drop(): ArrayBufferLike | undefined {
    const buffer = this.pixels?.data.buffer;
    this.pixels = undefined;
    return buffer;
  }
}

export class SharedOriginals {
  readonly memory: PixelMemory;
  readonly #byHash = new Map<string, DecodedOriginal>();

  constructor(memory: PixelMemory | number) {
    this.memory = typeof memory === "number" ? new PixelMemory(memory) : memory;
  }

  /** Originals referred to by some store (with or without pixels). */
  get size(): number {
    return this.#byHash.size;
  }

  /** The original of `hash` when its pixels are decoded now. */
  decoded(hash: string): DecodedOriginal | undefined {
    const original = this.#byHash.get(hash);
    return original?.pixels ? original : undefined;
  }

  /** Adds a reference to the original of `hash` (a placeholder without pixels when no store has it yet). */
  ref(hash: string): DecodedOriginal {
    let original = this.#byHash.get(hash);
    if (!original) {
      original = new DecodedOriginal(hash);
      this.#byHash.set(hash, original);
    }
    original.refs++;
    return original;
  }

  /** Gives back one reference and the pins that came with it; the last reference frees the pixels. */
  unref(original: DecodedOriginal, pins: number): void {
    original.pins = Math.max(0, original.pins - pins);
    original.refs--;
    if (original.refs > 0) {
      if (pins > 0) this.memory.evict();
      return;
    }
    this.memory.drop(original);
    if (this.#byHash.get(original.hash) === original) this.#byHash.delete(original.hash);
  }

  /**
   * Makes sure `original` has pixels, decoding them with `decode` unless another store's decode is already
   * under way (then that one is awaited). The caller should hold a pin meanwhile, so that what it waited for
   * is not evicted before it uses it.
   */
  async fill(original: DecodedOriginal, decode: () => Promise<DecodedPixels>, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (original.pixels) return;
      if (!original.pending) {
        original.pending = this.#decodeInto(original, decode).finally(() => {
          original.pending = undefined;
        });
      }
      try {
        await original.pending;
      } catch (error) {
        // Another caller's cancelled wait is not this caller's failure: start (or join) a decode again.
        const aborted = error instanceof SquintError && error.code === "ABORTED";
        if (aborted && !signal?.aborted) continue;
        throw error;
      }
    }
  }

  async #decodeInto(original: DecodedOriginal, decode: () => Promise<DecodedPixels>): Promise<void> {
    const { pixels, header } = await decode();
    const size = pixels.data.byteLength;
    if (size > this.memory.maxBytes) {
      throw new SquintError(
        "OUT_OF_MEMORY_BUDGET",
        `An image of ${size} bytes decoded does not fit the image store (${this.memory.maxBytes} bytes).`,
        { hint: "Send a smaller image or raise the store's maxStoreBytes.", details: { bytes: size } },
      );
    }
    original.pixels = pixels;
    original.header = header;
    this.memory.add(original);
    this.memory.evict(original);
    if (this.memory.usedBytes > this.memory.maxBytes) {
      // Everything else is pinned: take the newcomer out again rather than exceed the budget.
      this.memory.drop(original);
      throw new SquintError(
        "OUT_OF_MEMORY_BUDGET",
        `The image store is full of pinned images (${this.memory.usedBytes} of ${this.memory.maxBytes} bytes).`,
        {
          hint: "Release images that are no longer needed, or raise the store's maxStoreBytes.",
          details: { bytes: this.memory.usedBytes, maxBytes: this.memory.maxBytes, reason: "pinned" },
        },
      );
    }
  }
}
