import { BICUBIC_SIMD_WASM } from "./bicubic-simd-module.js";

/**
 * The vertical pass of the bicubic resize in WebAssembly SIMD (bicubic-simd.wat): 16 bytes per instruction
 * where the JavaScript loop does one. It is the larger pass of every zoom into a small box (a 640×416 output
 * from ~100 input rows), where it cut the resize's CPU by about half on the server under load (issue 10).
 * Bit for bit the JavaScript pass (test/model/bicubic.test.ts runs both against the plain Pillow loops).
 *
 * The module's memory grows to the largest job it has seen and never shrinks, so a job is done in bands of
 * output rows whose rows in and out fit SIMD_BAND_BYTES: a thread holds at most a few megabytes here, and a
 * near-full zoom of a 4140×2700 photo (32 MB out) gets the same speed-up as a small one.
 */
export const SIMD_BAND_BYTES = 4 * 1024 * 1024;

let bandBytes = SIMD_BAND_BYTES;

/** Sets the band size in this thread (tests use small bands to run the split on small images). */
export function setSimdBandBytes(bytes: number): void {
  bandBytes = bytes;
}

let bandsRun = 0;

/** Bands the kernel has run in this thread (tests check the split really ran in WebAssembly). */
export function simdBandsRun(): number {
  return bandsRun;
}

/** The part of the WebAssembly API used here (TypeScript declares it only in its DOM libraries). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

interface Kernel {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  vertical(
    src: number,
    stride: number,
    rowBytes: number,
    out: number,
    rows: number,
    first: number,
    count: number,
    weights: number,
    taps: number,
  ): void;
}

let kernel: Kernel | null | undefined;
let enabled = true;

/** Turns the WebAssembly pass off (or back on) in this thread: tests and benches compare both passes. */
export function setSimdEnabled(on: boolean): void {
  enabled = on;
}

/** The compiled module, once per thread; null where WebAssembly SIMD is not available. */
function loadKernel(): Kernel | null {
  if (kernel !== undefined) return kernel;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  kernel = null;
  if (!wasm) return kernel;
  try {
    const module = new wasm.Module(Buffer.from(BICUBIC_SIMD_WASM, "base64"));
    kernel = new wasm.Instance(module).exports as Kernel;
  } catch {
    // A runtime without WebAssembly SIMD refuses the module: the JavaScript pass does the work.
  }
  return kernel;
}

/** Rows of bytes: `rows` of `rowBytes` each, row r starting at `offset + r · stride` in `data`. */
export interface ByteRows {
  data: Uint8Array;
  offset: number;
  stride: number;
  rowBytes: number;
  rows: number;
}

/**
 * out row y = Σ_k input row (first[y] + k) · weights[y·taps + k], Pillow's rounding and clip; undefined when the
 * kernel is unavailable, or when one output row and the input rows it reads do not fit a band (the caller runs
 * its JavaScript pass then).
 */
export function verticalPassSimd(
  input: ByteRows,
  outRows: number,
  coefficients: { first: Int32Array; count: Int32Array; weights: Int32Array; taps: number },
): Uint8Array | undefined {
  if (!enabled) return undefined;
  const k = loadKernel();
  if (!k) return undefined;
  const { rowBytes } = input;
  const { first, count, weights, taps } = coefficients;
  const out = new Uint8Array(outRows * rowBytes);
  for (let y0 = 0; y0 < outRows; ) {
    // The longest run of output rows from y0 whose input rows and own rows fit the band.
    const top = first[y0] ?? 0;
    let bottom = top + (count[y0] ?? 0);
    let y1 = y0 + 1;
    if ((bottom - top + 1) * rowBytes > bandBytes) return undefined;
    while (y1 < outRows) {
      const end = Math.max(bottom, (first[y1] ?? 0) + (count[y1] ?? 0));
      if ((end - top + (y1 + 1 - y0)) * rowBytes > bandBytes) break;
      bottom = end;
      y1++;
    }
    const band: ByteRows = {
      data: input.data,
      offset: input.offset + top * input.stride,
      stride: input.stride,
      rowBytes,
      rows: bottom - top,
    };
    const bandFirst = first.slice(y0, y1);
    for (let y = 0; y < bandFirst.length; y++) bandFirst[y] = (bandFirst[y] ?? 0) - top;
    const bandCoefficients = {
      first: bandFirst,
      count: count.subarray(y0, y1),
      weights: weights.subarray(y0 * taps, y1 * taps),
      taps,
    };
    runBand(k, band, y1 - y0, bandCoefficients, out, y0 * rowBytes);
    bandsRun++;
    y0 = y1;
  }
  return out;
}

/** One band through the kernel: its input rows copied in, its output rows copied out into `out` at `at`. */
function runBand(
  k: Kernel,
  input: ByteRows,
  outRows: number,
  coefficients: { first: Int32Array; count: Int32Array; weights: Int32Array; taps: number },
  out: Uint8Array,
  at: number,
): void {
  const { rowBytes, rows } = input;
  const inBytes = rows * rowBytes;
  const outBytes = outRows * rowBytes;
  // Layout: input, 16 bytes of padding, output, 16 bytes of padding, first, count, weights (4-byte aligned).
  const align = (n: number) => (n + 15) & ~15;
  const inAt = 0;
  const outAt = align(inAt + inBytes + 16);
  const firstAt = align(outAt + outBytes + 16);
  const countAt = firstAt + outRows * 4;
  const weightsAt = countAt + outRows * 4;
  const end = weightsAt + coefficients.weights.length * 4;
  const pages = Math.ceil(end / 65536) - k.memory.buffer.byteLength / 65536;
  if (pages > 0) k.memory.grow(pages);
  const heap = new Uint8Array(k.memory.buffer);
  if (input.stride === rowBytes) {
    heap.set(input.data.subarray(input.offset, input.offset + inBytes), inAt);
  } else {
    for (let r = 0; r < rows; r++) {
      const start = input.offset + r * input.stride;
      heap.set(input.data.subarray(start, start + rowBytes), inAt + r * rowBytes);
    }
  }
  heap.fill(0, inAt + inBytes, inAt + inBytes + 16);
  const words = new Int32Array(k.memory.buffer);
  words.set(coefficients.first, firstAt / 4);
  words.set(coefficients.count, countAt / 4);
  words.set(coefficients.weights, weightsAt / 4);
  k.vertical(inAt, rowBytes, rowBytes, outAt, outRows, firstAt, countAt, weightsAt, coefficients.taps);
  out.set(heap.subarray(outAt, outAt + outBytes), at);
}
