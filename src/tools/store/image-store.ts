import { createHash, randomBytes } from "node:crypto";
import sharp from "sharp";
import { SquintError } from "../../errors.js";
import type { RawImage } from "../../model/vision.js";
import { type Affine, compose, identity, type Size } from "../geometry.js";
import { type ImageLimits, resolveLimits } from "./limits.js";
import { type PixelHolder, PixelMemory } from "./pixel-memory.js";
import { checkEncoded, checkImageSize, decodeOriginal } from "./original-decode.js";
import { type DecodedOriginal, SharedOriginals } from "./shared-originals.js";
import { type SniffedFormat, sniffFormat } from "./sniff.js";
import { processWorkBudget, type WorkBudget } from "./work-budget.js";

/**
 * The image store: every image a run touches, decoded once into RGB pixels and given an id, with its lineage.
 *
 * An original enters as bytes (`ingest`): it is sniffed, its header checked against the limits, decoded once
 * (EXIF orientation applied, first frame, 8-bit sRGB; original-decode.ts) and deduplicated by content hash, so
 * the same file sent twice is the same id. A derived image (zoom, crop, rotation, …) enters as pixels (`derive`) together with the
 * affine transform from its pixels to its parent's; the store composes these, so any box on any image maps to
 * its original's pixels.
 *
 * Memory: the store keeps decoded pixels up to `maxStoreBytes` and evicts least-recently-used pixels beyond
 * that. Originals are pinned from `ingest` until `release` (each ingest of the same bytes adds one pin), so the
 * image a user gave never disappears under a run that still refers to it; derived images are never pinned
 * (they can be recomputed from the original by calling the tool again). Images that only arrive as tool
 * arguments (createToolContext's resolveImage) are ingested unpinned: a long-running MCP server caches them. Eviction drops pixels only: the
 * record (size, lineage, transforms) stays, so boxes on an evicted crop still map to the original. Records
 * beyond `maxRecords` whose pixels are gone are forgotten, oldest first.
 *
 * Several stores may share one SharedOriginals (the MCP server: one store per session, one pixel budget per
 * process, and a file every session opens decoded once and counted once) and one WorkBudget (admission for decoding and every tool's pixel work, process-wide by default).
 * A store that serves strangers hands out unguessable ids (`ids: "random"`), so an id seen in one session's
 * result means nothing to another session.
 */

/** The shape of the ids stores hand out: "img-12" (sequential) or "img-" and 16 base-36 characters (random). */
export const IMAGE_ID_PATTERN = /^img-(?:[1-9][0-9]*|[0-9a-z]{16})$/;

export type ImageOperation = "original" | "zoom" | "crop" | "rotate" | "enhance" | "annotate" | (string & {});

export interface StoredImage {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  /** Input format of an original ("JPEG", "PNG", …); "raw" for derived images. */
  readonly format: string;
  /** Where an original came from (a path, a URL, "data URI", "buffer"); never the bytes themselves. */
  readonly source: string;
  readonly operation: ImageOperation;
  /** What this image shows, when a tool was told (the zoom tool's `label`). */
  readonly label?: string;
  readonly parentId?: string;
  readonly originalId: string;
  readonly originalSize: Size;
  /** From this image's pixels to its parent's (identity for an original). */
  readonly toParent: Affine;
  /** From this image's pixels to its original's. */
  readonly toOriginal: Affine;
  /** Decoded RGB bytes (width × height × 3). */
  readonly bytes: number;
  /** Original only: the input's EXIF orientation tag (1–8) when it had one; already applied to the pixels. */
  readonly exifOrientation?: number;
}

export interface IngestOptions {
  /** Where the bytes came from, for lineage and messages (no secrets: the sources module strips query strings). */
  source?: string;
  /** Pin the original until `release` (default true). */
  pin?: boolean;
  /** Lets this one image be an SVG even when the store refuses SVG by default. */
  allowSvg?: boolean;
  /** Gives up waiting for decode memory (see WorkBudget). */
  signal?: AbortSignal;
  /** The bytes' SHA-256 (hex) when the caller already knows it (a cached file hash), so it is not computed again. */
  hash?: string;
}

export interface DeriveOptions {
  operation: ImageOperation;
  /** From the new image's pixels to the parent's. */
  toParent: Affine;
  label?: string;
}

export interface ImageStoreOptions extends Partial<ImageLimits> {
  /** Records kept (pixels or not) before the oldest pixel-less ones are forgotten. */
  maxRecords?: number;
  /** Pixels counted with other stores' (overrides maxStoreBytes); by default the store has its own. */
  memory?: PixelMemory;
  /**
   * Decoded originals shared with other stores (same bytes, one decode, counted once; overrides `memory` with
   * its own). By default the store has its own.
   */
  originals?: SharedOriginals;
  /** Admission for pixel work; by default the process-wide budget (processWorkBudget()). */
  work?: WorkBudget;
  /** "sequential" (img-1, img-2, …; the default) or "random" (unguessable, for stores that serve strangers). */
  ids?: "sequential" | "random";
}

/** A derived image owns its pixels; an original's pixels are the shared DecodedOriginal's (see shared-originals.ts). */
class Entry implements PixelHolder {
  #own: RawImage | undefined;

  constructor(
    public info: StoredImage,
    pixels: RawImage | undefined,
    public pins: number,
    public readonly original?: DecodedOriginal,
  ) {
    this.#own = pixels;
  }

  get pixels(): RawImage | undefined {
    return this.original ? this.original.pixels : this.#own;
  }

  get heldBytes(): number {
    return this.pixels?.data.byteLength ?? 0;
  }

  get pinned(): boolean {
    return this.pins > 0;
  }

  pin(): void {
    this.pins++;
    if (this.original) this.original.pins++;
  }

  unpin(): void {
    this.pins--;
    if (this.original) this.original.pins--;
  }

  drop(): ArrayBufferLike | undefined {
    const buffer = this.#own?.data.buffer;
    this.#own = undefined;
    return buffer;
  }
}

export interface ImageStoreStats {
  images: number;
  withPixels: number;
  pinned: number;
  bytes: number;
  maxBytes: number;
}

export class ImageStore {
  readonly limits: ImageLimits;
  /** Admission for pixel work done on this store's images (tools use it too). */
  readonly work: WorkBudget;
  readonly #memory: PixelMemory;
  readonly #originals: SharedOriginals;
  readonly #ids: "sequential" | "random";
  readonly #maxRecords: number;
  /** Map order is recency order: touching an entry moves it to the end. */
  readonly #entries = new Map<string, Entry>();
  readonly #byHash = new Map<string, string>();
  readonly #pending = new Map<string, Promise<StoredImage>>();
  #nextId = 1;

  constructor(options: ImageStoreOptions = {}) {
    const { maxRecords, memory, originals, work, ids, ...limits } = options;
    this.#originals = originals ?? new SharedOriginals(memory ?? new PixelMemory(resolveLimits(limits).maxStoreBytes));
    this.#memory = this.#originals.memory;
    this.limits = resolveLimits({ ...limits, maxStoreBytes: this.#memory.maxBytes });
    this.work = work ?? processWorkBudget();
    // Evicted pixels stay in memory until they are collected: the work budget counts them till then.
    // (The hook holds the budget, not this store, so a long-gone session's store is not kept alive by it.)
    const budget = this.work;
    this.#memory.onDropped ??= (buffer, bytes) => budget.holdUntilCollected(buffer, bytes);
    this.#ids = ids ?? "sequential";
    this.#maxRecords = maxRecords ?? 10_000;
  }

  /** Decodes bytes into a new original (or returns the one these same bytes already made, pinned once more). */
  async ingest(bytes: Uint8Array, options: IngestOptions = {}): Promise<StoredImage> {
    const source = options.source ?? "buffer";
    if (bytes.byteLength > this.limits.maxInputBytes) {
      throw new SquintError(
        "IMAGE_TOO_LARGE",
        `The image from ${source} is ${bytes.byteLength} bytes; the limit is ${this.limits.maxInputBytes}.`,
        {
          hint: "Send a smaller or more compressed image, or raise the store's maxInputBytes.",
          details: { bytes: bytes.byteLength, maxInputBytes: this.limits.maxInputBytes },
        },
      );
    }
    const format = sniffFormat(bytes);
    const hash = options.hash ?? createHash("sha256").update(bytes).digest("hex");
    const pin = options.pin ?? true;
    const { known, reused } = this.#reuseByHash(hash, pin);
    if (reused) return reused;
    const inFlight = this.#pending.get(hash);
    if (inFlight) {
      const info = await inFlight;
      const entry = this.#entries.get(info.id);
      if (entry && pin) entry.pin();
      return info;
    }
    const work = this.#ingestOriginal(bytes, format, hash, source, pin, options, known);
    this.#pending.set(hash, work);
    try {
      return await work;
    } finally {
      this.#pending.delete(hash);
    }
  }

  async #ingestOriginal(
    bytes: Uint8Array,
    format: SniffedFormat,
    hash: string,
    source: string,
    pin: boolean,
    options: IngestOptions,
    previous: Entry | undefined,
  ): Promise<StoredImage> {
    checkEncoded(bytes, format, source, options.allowSvg ?? this.limits.allowSvg);
    // This store's reference (an evicted original's record keeps its own), and a hold while it decodes, so
    // what another store's decode produced is not evicted before this store's caller gets to use it.
    const original = previous?.original ?? this.#originals.ref(hash);
    original.pins++;
    try {
      const decode = () =>
        decodeOriginal(bytes, format, source, {
          limits: this.limits,
          work: this.work,
          memory: this.#memory,
          ...(options.signal ? { signal: options.signal } : {}),
        });
      await this.#originals.fill(original, decode, options.signal);
    } catch (error) {
      if (!previous) this.#originals.unref(original, 1);
      else original.pins--;
      throw error;
    }
    original.pins--;
    try {
      return this.#addOriginal(original, source, pin, previous);
    } catch (error) {
      if (!previous) this.#originals.unref(original, 0);
      throw error;
    }
  }

  /** This store's record of a decoded shared original (a new id, or the evicted record's id again). */
  #addOriginal(original: DecodedOriginal, source: string, pin: boolean, previous: Entry | undefined): StoredImage {
    const header = original.header;
    if (!header) throw new SquintError("INTERNAL", "A decoded original has no header.");
    checkImageSize(header, `The image from ${source}`, this.limits);
    const id = previous?.info.id ?? this.#newId();
    const info: StoredImage = {
      id,
      width: header.width,
      height: header.height,
      format: header.format,
      source,
      operation: "original",
      originalId: id,
      originalSize: { width: header.width, height: header.height },
      toParent: identity,
      toOriginal: identity,
      bytes: header.width * header.height * 3,
      ...(header.exifOrientation === undefined ? {} : { exifOrientation: header.exifOrientation }),
    };
    const entry = new Entry(info, undefined, 0, original);
    // The pins an evicted record still had were counted in the original already; they carry over.
    entry.pins = previous?.pins ?? 0;
    if (pin) entry.pin();
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    this.#byHash.set(original.hash, id);
    this.#memory.touch(original);
    this.#forgetOldRecords();
    return info;
  }

  /** Whether the content with this SHA-256 is decoded now, in this store or one it shares originals with. */
  hasDecoded(hash: string): boolean {
    return this.#originals.decoded(hash) !== undefined;
  }

  /**
   * The original for content already decoded (see hasDecoded), without its bytes: this store's own id for it
   * (pinned once more unless `pin` is false). Undefined when its pixels were evicted meanwhile: ingest the
   * bytes then.
   */
  adoptDecoded(hash: string, options: { source?: string; pin?: boolean } = {}): StoredImage | undefined {
    const pin = options.pin ?? true;
    const { known, reused } = this.#reuseByHash(hash, pin);
    if (reused) return reused;
    if (known || !this.#originals.decoded(hash)) return undefined;
    const original = this.#originals.ref(hash);
    try {
      return this.#addOriginal(original, options.source ?? "buffer", pin, undefined);
    } catch (error) {
      this.#originals.unref(original, 0);
      throw error;
    }
  }

  /** Adds an image made from `parentId`'s pixels; `toParent` maps the new pixels to the parent's. */
  derive(parentId: string, pixels: RawImage, options: DeriveOptions): StoredImage {
    const parent = this.get(parentId);
    checkRaw(pixels);
    checkImageSize(pixels, `The ${options.operation} result`, this.limits);
    const id = this.#newId();
    const info: StoredImage = {
      id,
      width: pixels.width,
      height: pixels.height,
      format: "raw",
      source: `${options.operation} of ${parent.id}`,
      operation: options.operation,
      ...(options.label === undefined ? {} : { label: options.label }),
      parentId: parent.id,
      originalId: parent.originalId,
      originalSize: parent.originalSize,
      toParent: options.toParent,
      toOriginal: compose(options.toParent, parent.toOriginal),
      bytes: pixels.data.byteLength,
    };
    this.#admit(new Entry(info, pixels, 0));
    return info;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** The record of an image (pixels or not); NOT_FOUND for an id the store never had or has forgotten. */
  get(id: string): StoredImage {
    return this.#entry(id).info;
  }

  /** The decoded pixels, marking the image as recently used. Shared, not copied: do not write into them. */
  pixels(id: string): RawImage {
    const entry = this.#entry(id);
    if (!entry.pixels) {
      throw new SquintError("NOT_FOUND", `Image ${id} was evicted from the image store to save memory.`, {
        hint:
          entry.info.operation === "original"
            ? "Send the image again."
            : `Repeat the ${entry.info.operation} on ${entry.info.parentId ?? "its parent"} to recreate it.`,
        details: { id },
      });
    }
    this.#touch(entry);
    this.#memory.touch(entry);
    return entry.pixels;
  }

  /** The image and its ancestors, from it up to its original (ancestors already forgotten are skipped). */
  lineage(id: string): StoredImage[] {
    const chain: StoredImage[] = [];
    let current: StoredImage | undefined = this.get(id);
    while (current) {
      chain.push(current);
      current = current.parentId === undefined ? undefined : this.#entries.get(current.parentId)?.info;
    }
    return chain;
  }

  /** Adds one pin: the image's pixels stay until as many `release` calls. */
  retain(id: string): void {
    this.#entry(id).pin();
  }

  /** Removes one pin; the pixels become evictable when none are left. */
  release(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry || entry.pins === 0) return;
    entry.unpin();
    this.#memory.evict();
  }

  /** Encodes an image for a transport or a file (PNG is lossless; JPEG/WebP for size). */
  async encode(id: string, format: "png" | "jpeg" | "webp" = "png"): Promise<Buffer> {
    const { width, height, data } = this.pixels(id);
    return this.work.run(width * height * 3, `Encoding ${id}`, () => {
      const pipeline = sharp(data, { raw: { width, height, channels: 3 } });
      if (format === "jpeg") return pipeline.jpeg({ quality: 90 }).toBuffer();
      if (format === "webp") return pipeline.webp({ quality: 90 }).toBuffer();
      return pipeline.png({ compressionLevel: 6 }).toBuffer();
    });
  }

  /** Forgets every image and gives its pixels back to the shared memory (a closed session's store). */
  dispose(): void {
    for (const entry of this.#entries.values()) this.#forget(entry);
    this.#entries.clear();
    this.#byHash.clear();
  }

  stats(): ImageStoreStats {
    let withPixels = 0;
    let pinned = 0;
    let bytes = 0;
    for (const entry of this.#entries.values()) {
      if (entry.pixels) withPixels++;
      if (entry.pins > 0) pinned++;
      bytes += entry.heldBytes;
    }
    return { images: this.#entries.size, withPixels, pinned, bytes, maxBytes: this.limits.maxStoreBytes };
  }

  #newId(): string {
    if (this.#ids === "sequential") return `img-${this.#nextId++}`;
    // 16 base-36 characters from 96 random bits (~82 bits kept): not guessable, short enough for a prompt.
    const value = BigInt(`0x${randomBytes(12).toString("hex")}`);
    return `img-${value.toString(36).padStart(16, "0").slice(-16)}`;
  }

  #entry(id: string): Entry {
    const entry = this.#entries.get(id);
    if (!entry) {
      throw new SquintError("NOT_FOUND", `No image with id "${id}" in the image store.`, {
        hint: "Use an id returned by an earlier call, or pass the image itself (path, URL or data URI).",
        details: { id },
      });
    }
    return entry;
  }

  /**
   * This store's entry for the content `hash`, and its info when its pixels are still here — then pinned once
   * more (if `pin`) and marked recently used, here and in the shared pixel memory.
   */
  #reuseByHash(hash: string, pin: boolean): { known: Entry | undefined; reused: StoredImage | undefined } {
    const knownId = this.#byHash.get(hash);
    const known = knownId === undefined ? undefined : this.#entries.get(knownId);
    if (!known?.pixels) return { known, reused: undefined };
    if (pin) known.pin();
    this.#touch(known);
    if (known.original) this.#memory.touch(known.original);
    return { known, reused: known.info };
  }

  #touch(entry: Entry): void {
    this.#entries.delete(entry.info.id);
    this.#entries.set(entry.info.id, entry);
  }

  /** Admits a derived image's own pixels to the memory (originals are admitted by SharedOriginals). */
  #admit(entry: Entry): void {
    const size = entry.heldBytes;
    if (size > this.limits.maxStoreBytes) {
      throw new SquintError(
        "OUT_OF_MEMORY_BUDGET",
        `An image of ${size} bytes decoded does not fit the image store (${this.limits.maxStoreBytes} bytes).`,
        { hint: "Send a smaller image or raise the store's maxStoreBytes.", details: { bytes: size } },
      );
    }
    this.#entries.set(entry.info.id, entry);
    this.#memory.add(entry);
    this.#memory.evict(entry);
    if (this.#memory.usedBytes > this.limits.maxStoreBytes) {
      // Everything else is pinned: take the newcomer out again rather than exceed the budget.
      this.#memory.remove(entry);
      this.#entries.delete(entry.info.id);
      throw new SquintError(
        "OUT_OF_MEMORY_BUDGET",
        `The image store is full of pinned images (${this.#memory.usedBytes} of ${this.limits.maxStoreBytes} bytes).`,
        {
          hint: "Release images that are no longer needed, or raise the store's maxStoreBytes.",
          // "pinned": full of images in use (a server's calls in progress hold theirs), not a too-large image.
          details: { bytes: this.#memory.usedBytes, maxBytes: this.limits.maxStoreBytes, reason: "pinned" },
        },
      );
    }
    this.#forgetOldRecords();
  }

  /** Gives an entry's pixels (or its reference to a shared original, with its pins) back. */
  #forget(entry: Entry): void {
    if (entry.original) this.#originals.unref(entry.original, entry.pins);
    else this.#memory.remove(entry);
  }

  #forgetOldRecords(): void {
    if (this.#entries.size <= this.#maxRecords) return;
    for (const [id, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxRecords) break;
      if (entry.pixels || entry.pins > 0) continue;
      this.#entries.delete(id);
      this.#forget(entry);
      const hash = entry.original?.hash;
      if (hash !== undefined && this.#byHash.get(hash) === id) this.#byHash.delete(hash);
    }
  }
}

function checkRaw(pixels: RawImage): void {
  const ok =
    Number.isInteger(pixels.width) &&
    Number.isInteger(pixels.height) &&
    pixels.width > 0 &&
    pixels.height > 0 &&
    pixels.data.byteLength === pixels.width * pixels.height * 3;
  if (!ok) {
    throw new SquintError("INTERNAL", "A tool produced pixels that are not a whole RGB image.", {
      details: { width: pixels.width, height: pixels.height, bytes: pixels.data.byteLength },
    });
  }
}
