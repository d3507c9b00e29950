import * as ort from "onnxruntime-node";
import { SquintError } from "../../errors.js";
import type { KvLayout } from "../../model/graph/contract.js";

/**
 * The decoder's KV cache between calls: the `present.*` tensors of the last run, fed back as `past.*` of the
 * next, never copied in JavaScript per step (on WebGPU they stay in GPU buffers). Alongside the tensors it
 * keeps what they encode — the token ids and, for visual tokens, which image they came from — so that a
 * later request can reuse the longest common prefix.
 */

/** Element type of the cache tensors: float16 ones hold their bits in a Uint16Array (onnxruntime-node). */
export type CacheDtype = "float32" | "float16";
type CacheArray = Float32Array | Uint16Array;

export interface CacheShape {
  numLayers: number;
  numKeyValueHeads: number;
  headDim: number;
  /** Default float32; float16 only for "append" decoders built with `kvDtype: "float16"` (contract.ts). */
  dtype?: CacheDtype;
  /**
   * Set for a "gqa-shared" decoder (contract.ts): the tensors are [1, kvh, capacity, hd] buffers that the
   * decoder reads as past and writes in place as present; only `length` positions are meaningful. The
   * capacity grows (doubling, up to `maxTokens`) only when a request needs more, never per step.
   */
  shared?: { maxTokens: number; initialTokens?: number };
  /**
   * Set for an "append" decoder (contract.ts): the same [1, kvh, capacity, hd] buffers, but the decoder only
   * reads them; it returns the S new positions and `append` writes them in (S × kvh × hd values per layer,
   * never the cache). Capacity grows by an eighth (at least 256 positions) when a request needs more, so the
   * masked tail the attention reads past the cache stays small and a growth copy comes once per many steps.
   */
  append?: { maxTokens: number; initialTokens?: number };
  /**
   * Axis order of the tensors (contract.ts): "heads-first" [1, kvh, positions, hd] (default), or
   * "positions-first" [1, positions, kvh, hd] — append decoders built since issue 9's prefill work, which
   * are fed a prefix view of the buffers (`pastInputs`) instead of the whole capacity.
   */
  layout?: KvLayout;
}

/** Positions an "append" cache grows by beyond what is needed: an eighth, at least 256, whole 64s. */
function appendHeadroom(total: number): number {
  return Math.ceil(Math.max(256, total / 8) / 64) * 64;
}

export class KvCache {
  keys: ort.Tensor[];
  values: ort.Tensor[];
  /** Token ids held by the cache, in order. */
  readonly tokens: number[] = [];
  /** Per position: 0 for text, else the interned id of the image/video the visual token belongs to. */
  readonly visualKeys: number[] = [];

  constructor(readonly shape: CacheShape) {
    this.keys = [];
    this.values = [];
    this.reset();
  }

  get length(): number {
    return this.tokens.length;
  }

  get dtype(): CacheDtype {
    return this.shape.dtype ?? "float32";
  }

  /** Keys + values over all layers, at the cache's element size. */
  get bytesPerToken(): number {
    return cacheBytesPerToken(this.shape);
  }

  private allocate(length: number): CacheArray {
    return this.dtype === "float16" ? new Uint16Array(length) : new Float32Array(length);
  }

  get bytes(): number {
    return this.length * this.bytesPerToken;
  }

  private get positionsFirst(): boolean {
    return this.shape.layout === "positions-first";
  }

  /** A cache tensor's dims for `positions` positions, in this cache's layout. */
  private dims(positions: number): number[] {
    const { numKeyValueHeads: kvh, headDim: hd } = this.shape;
    return this.positionsFirst ? [1, positions, kvh, hd] : [1, kvh, positions, hd];
  }

  private emptyTensor(): ort.Tensor {
    return new ort.Tensor(this.dtype, this.allocate(0), this.dims(0));
  }

  /** Whether the tensors are fixed-capacity buffers the engine owns ("gqa-shared" or "append"). */
  get buffered(): boolean {
    return this.shape.shared !== undefined || this.shape.append !== undefined;
  }

  /** Positions the buffers can hold (0 when not buffered or not allocated yet). */
  get capacity(): number {
    return this.buffered ? (this.keys[0]?.dims[this.positionsFirst ? 1 : 2] ?? 0) : 0;
  }

  /**
   * The tensors to feed as the decoder's past inputs. Positions-first buffers are fed as views of their
   * first max(length, 1) positions (same memory, no copy; one masked position when the cache is empty, see
   * the decoder's appendAttention), so attention reads the cached length rather than the capacity. Other
   * layouts are fed whole.
   */
  pastInputs(): { keys: ort.Tensor[]; values: ort.Tensor[] } {
    if (!this.positionsFirst || !this.buffered) return { keys: this.keys, values: this.values };
    const fed = Math.max(1, this.length);
    const { numKeyValueHeads: kvh, headDim: hd } = this.shape;
    const view = (tensor: ort.Tensor) =>
      new ort.Tensor(this.dtype, (tensor.data as CacheArray).subarray(0, fed * kvh * hd), this.dims(fed));
    return { keys: this.keys.map(view), values: this.values.map(view) };
  }

  /**
   * Shared-buffer mode: makes the tensors hold at least `total` positions. Allocates once, and again only
   * when a request outgrows the capacity (a once-per-growth copy of the kept positions, never per step).
   */
  reserve(total: number): void {
    const limits = this.shape.shared ?? this.shape.append;
    if (!limits) return;
    const current = this.capacity;
    if (total <= current) return;
    const growth = this.shape.shared ? 2 * current : total + appendHeadroom(total);
    const wanted = current === 0 ? Math.max(total, limits.initialTokens ?? growth) : growth;
    const capacity = Math.max(total, Math.min(wanted, limits.maxTokens));
    const { numKeyValueHeads: kvh, headDim: hd } = this.shape;
    const kept = this.length;
    const grow = (tensor: ort.Tensor): ort.Tensor => {
      const out = this.allocate(kvh * capacity * hd);
      if (kept > 0 && this.positionsFirst) {
        // The kept positions are one contiguous prefix.
        (out as Float32Array).set((tensor.data as Float32Array).subarray(0, kept * kvh * hd));
      } else if (kept > 0) {
        const data = tensor.data as CacheArray;
        for (let h = 0; h < kvh; h++) {
          // Same element type on both sides (the buffers were allocated by this class).
          (out as Float32Array).set(
            (data as Float32Array).subarray(h * current * hd, (h * current + kept) * hd),
            h * capacity * hd,
          );
        }
      }
      return new ort.Tensor(this.dtype, out, this.dims(capacity));
    };
    this.keys = this.keys.map(grow);
    this.values = this.values.map(grow);
  }

  /**
   * Shared-buffer mode: the decoder wrote `tokens` in place into these tensors (its present outputs were
   * preallocated as the past inputs). onnxruntime-node 1.30 still hands back a *copy* of each preallocated
   * output (its binding converts every output to a fresh JS array), so `keys`/`values` here are those copies:
   * they are checked against the buffers at the last written position (cheap), then dropped.
   */
  advanceShared(
    keys: ort.Tensor[],
    values: ort.Tensor[],
    tokens: ArrayLike<number>,
    visualKeys: ArrayLike<number>,
  ): void {
    const total = this.length + tokens.length;
    const capacity = this.capacity;
    const hd = this.shape.headDim;
    const last = (total - 1) * hd;
    const inPlace = (got: ort.Tensor[], held: ort.Tensor[]) =>
      got.length === held.length &&
      got.every((tensor, i) => {
        const mine = held[i]!.data as Float32Array;
        const theirs = tensor.data as Float32Array;
        if (tensor.dims[2] !== capacity || theirs.length !== mine.length) return false;
        for (let j = 0; j < hd; j++) if (!Object.is(theirs[last + j], mine[last + j])) return false;
        return true;
      });
    if (total > capacity || !inPlace(keys, this.keys) || !inPlace(values, this.values)) {
      throw new SquintError("BACKEND_FAILED", "The decoder did not write its cache into the shared buffers.", {
        hint: "The graphs do not follow the gqa-shared decoder contract; rebuild them with `squint models build`.",
      });
    }
    for (let i = 0; i < tokens.length; i++) {
      this.tokens.push(tokens[i]);
      this.visualKeys.push(visualKeys[i]);
    }
  }

  /**
   * Append mode: the decoder ran over `tokens` and returned their keys and values ([1, S, kvh, hd] per
   * layer positions-first, [1, kvh, S, hd] heads-first); they are written into the buffers at the current
   * length. Only these S positions are copied.
   */
  append(keys: ort.Tensor[], values: ort.Tensor[], tokens: ArrayLike<number>, visualKeys: ArrayLike<number>): void {
    const s = tokens.length;
    const at = this.length;
    const capacity = this.capacity;
    const { numKeyValueHeads: kvh, headDim: hd, numLayers } = this.shape;
    const expected = this.dims(s);
    const fits = (got: ort.Tensor[]) =>
      got.length === numLayers && got.every((t) => t.dims.every((d, i) => d === expected[i]) && t.type === this.dtype);
    if (at + s > capacity || !fits(keys) || !fits(values)) {
      throw new SquintError(
        "BACKEND_FAILED",
        `The decoder returned new keys/values of shape [${keys[0]?.dims.join(", ")}] (${keys[0]?.type}), expected [${expected.join(", ")}] (${this.dtype}) per layer.`,
        { hint: "The graphs do not follow the append decoder contract; rebuild them with `squint models build`." },
      );
    }
    const write = (buffers: ort.Tensor[], fresh: ort.Tensor[]) => {
      for (let l = 0; l < numLayers; l++) {
        // Float32Array or, for a float16 cache, Uint16Array on both sides (checked by `fits`).
        const into = buffers[l]!.data as Float32Array;
        const from = fresh[l]!.data as Float32Array;
        if (this.positionsFirst) into.set(from, at * kvh * hd);
        else
          for (let h = 0; h < kvh; h++) into.set(from.subarray(h * s * hd, (h + 1) * s * hd), (h * capacity + at) * hd);
      }
    };
    write(this.keys, keys);
    write(this.values, values);
    for (let i = 0; i < s; i++) {
      this.tokens.push(tokens[i]);
      this.visualKeys.push(visualKeys[i]);
    }
  }

  /** Drops everything (device buffers included). */
  reset(): void {
    this.disposeTensors();
    // Fixed-capacity buffers are kept on reset: they are reused by the next request (only the length matters).
    if (this.buffered && this.capacity > 0) {
      this.tokens.length = 0;
      this.visualKeys.length = 0;
      return;
    }
    this.keys = Array.from({ length: this.shape.numLayers }, () => this.emptyTensor());
    this.values = Array.from({ length: this.shape.numLayers }, () => this.emptyTensor());
    this.tokens.length = 0;
    this.visualKeys.length = 0;
  }

  /** Takes the decoder's `present.*` outputs after a run over `tokens` and releases the previous tensors. */
  advance(keys: ort.Tensor[], values: ort.Tensor[], tokens: ArrayLike<number>, visualKeys: ArrayLike<number>): void {
    const expected = this.length + tokens.length;
    const got = keys[0]?.dims[2];
    if (got !== expected) {
      throw new SquintError(
        "BACKEND_FAILED",
        `The decoder returned a cache of ${got} positions, expected ${expected}.`,
        {
          hint: "The graphs do not follow the decoder contract; rebuild them with `squint models build`.",
        },
      );
    }
    this.disposeTensors();
    this.keys = keys;
    this.values = values;
    for (let i = 0; i < tokens.length; i++) {
      this.tokens.push(tokens[i]);
      this.visualKeys.push(visualKeys[i]);
    }
  }

  /** Whether the tensors live in device buffers (WebGPU) rather than in CPU memory. */
  get onDevice(): boolean {
    return this.keys.some((tensor) => tensor.location !== "cpu");
  }

  /**
   * Keeps the first `length` positions: a once-per-request copy (never per step) of a strided slice, the
   * layout being [1, kvh, past, hd]. Device-resident caches cannot be sliced: onnxruntime-node 1.30 aborts
   * the process when a gpu-buffer tensor is read back (`getData`), so they are dropped instead and the
   * caller recomputes the prefix. Returns the length actually kept.
   */
  truncate(length: number): number {
    if (length >= this.length) return this.length;
    if (this.buffered) {
      // Positions past `length` are simply overwritten by the next run; the buffers stay.
      this.tokens.length = length;
      this.visualKeys.length = length;
      return length;
    }
    if (length === 0 || this.onDevice) {
      this.reset();
      return 0;
    }
    const { numKeyValueHeads: kvh, headDim: hd } = this.shape;
    const slice = (tensor: ort.Tensor): ort.Tensor => {
      const data = tensor.data as Float32Array;
      const past = tensor.dims[2]!;
      const out = new Float32Array(kvh * length * hd);
      for (let h = 0; h < kvh; h++) {
        out.set(data.subarray(h * past * hd, (h * past + length) * hd), h * length * hd);
      }
      return new ort.Tensor("float32", out, [1, kvh, length, hd]);
    };
    this.keys = this.keys.map(slice);
    this.values = this.values.map(slice);
    this.tokens.length = length;
    this.visualKeys.length = length;
    return length;
  }

  private disposeTensors(): void {
    for (const tensor of [...this.keys, ...this.values]) {
      // CPU tensors are garbage-collected; device buffers must be released explicitly.
      if (tensor.location !== "cpu") tensor.dispose();
    }
  }

  dispose(): void {
    this.disposeTensors();
    this.keys = [];
    this.values = [];
    this.tokens.length = 0;
    this.visualKeys.length = 0;
  }
}

/** Bytes of keys + values per cached position over all layers. */
export function cacheBytesPerToken(shape: Omit<CacheShape, "shared" | "append">): number {
  const elementBytes = shape.dtype === "float16" ? 2 : 4;
  return 2 * shape.numLayers * shape.numKeyValueHeads * shape.headDim * elementBytes;
}

/** How many leading positions of `cache` match the new sequence (token ids and image identities). */
export function commonPrefixLength(
  cache: Pick<KvCache, "tokens" | "visualKeys">,
  tokens: ArrayLike<number>,
  visualKeys: ArrayLike<number>,
): number {
  const limit = Math.min(cache.tokens.length, tokens.length);
  let i = 0;
  while (i < limit && cache.tokens[i] === tokens[i] && cache.visualKeys[i] === visualKeys[i]) i++;
  return i;
}
