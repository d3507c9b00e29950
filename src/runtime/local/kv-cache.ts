import * as ort from "onnxruntime-node";
import { SquintError } from "../../errors.js";

/**
 * The decoder's KV cache between calls: the `present.*` tensors of the last run, fed back as `past.*` of the
 * next, never copied in JavaScript per step (on WebGPU they stay in GPU buffers). Alongside the tensors it
 * keeps what they encode — the token ids and, for visual tokens, which image they came from — so that a
 * later request can reuse the longest common prefix.
 */

export interface CacheShape {
  numLayers: number;
  numKeyValueHeads: number;
  headDim: number;
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

  /** float32 keys + values over all layers. */
  get bytesPerToken(): number {
    return 2 * this.shape.numLayers * this.shape.numKeyValueHeads * this.shape.headDim * 4;
  }

  get bytes(): number {
    return this.length * this.bytesPerToken;
  }

  private emptyTensor(): ort.Tensor {
    return new ort.Tensor("float32", new Float32Array(0), [1, this.shape.numKeyValueHeads, 0, this.shape.headDim]);
  }

  /** Drops everything (device buffers included). */
  reset(): void {
    this.disposeTensors();
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
