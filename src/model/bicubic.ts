import { SquintError } from "../errors.js";
import { verticalPassSimd } from "./bicubic-simd.js";
import type { PixelRegion, RawImage } from "./image-decode.js";

/**
 * Pillow's bicubic resize on 8-bit RGB, bit for bit, in plain JavaScript with no other imports: the resize
 * threads (tools/store/resize-worker.ts) load only this, not sharp or the model code, so each thread costs
 * a few megabytes rather than tens.
 */

export function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new SquintError("INVALID_ARGUMENT", `${name} must be a positive integer, got ${value}`, {
      hint: `Pass a whole number greater than zero for ${name}.`,
    });
  }
}

export function checkRawImage(image: RawImage): RawImage {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `A raw image needs positive integer width and height, got ${width}×${height}`,
      {
        hint: "Build RawImage values with decodeImage().",
      },
    );
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `A ${width}×${height} raw image needs ${width * height * 3} bytes of RGB, got ${data instanceof Uint8Array ? data.length : typeof data}`,
      { hint: "RawImage data is 8-bit RGB, 3 bytes per pixel, row-major; build it with decodeImage()." },
    );
  }
  return image;
}

export function resizeBicubicSync(image: RawImage, width: number, height: number): RawImage {
  checkRawImage(image);
  requirePositiveInteger("width", width);
  requirePositiveInteger("height", height);
  if (width === image.width && height === image.height) return image;
  return resizeView(wholeView(image), width, height);
}

/**
 * resizeBicubicSync of a rectangle of `image`, exactly as cropping it first and resizing the crop, without the
 * crop: the first pass reads the rectangle in place. A zoom into an 8192² photo no longer copies 190 MB first.
 * Always returns new pixels (a copy of the rectangle when the size does not change).
 */
export function resizeRegionBicubicSync(image: RawImage, region: PixelRegion, width: number, height: number): RawImage {
  checkRawImage(image);
  requirePositiveInteger("width", width);
  requirePositiveInteger("height", height);
  const { left, top } = region;
  const inside =
    Number.isInteger(left) &&
    Number.isInteger(top) &&
    left >= 0 &&
    top >= 0 &&
    Number.isInteger(region.width) &&
    Number.isInteger(region.height) &&
    region.width > 0 &&
    region.height > 0 &&
    left + region.width <= image.width &&
    top + region.height <= image.height;
  if (!inside) {
    throw new SquintError("INVALID_ARGUMENT", "A resize region must be an integer rectangle inside the image.", {
      hint: "Clamp the region to the image first.",
      details: { region, width: image.width, height: image.height },
    });
  }
  const view: PixelView = { data: image.data, stride: image.width, ...region };
  if (width === region.width && height === region.height) return copyView(view);
  return resizeView(view, width, height);
}

/** Pixels read in place: `width`×`height` starting at (`left`, `top`) of rows `stride` pixels long. */
interface PixelView extends PixelRegion {
  data: Uint8Array;
  stride: number;
}

function wholeView(image: RawImage): PixelView {
  return { data: image.data, stride: image.width, left: 0, top: 0, width: image.width, height: image.height };
}

function copyView(view: PixelView): RawImage {
  const out = new Uint8Array(view.width * view.height * 3);
  const rowBytes = view.width * 3;
  for (let y = 0; y < view.height; y++) {
    const start = ((view.top + y) * view.stride + view.left) * 3;
    out.set(view.data.subarray(start, start + rowBytes), y * rowBytes);
  }
  return { width: view.width, height: view.height, data: out };
}

/** At least one side changes. Pillow skips a pass whose size does not change. */
function resizeView(view: PixelView, width: number, height: number): RawImage {
  let current = view;
  let result: RawImage | undefined;
  if (width !== current.width) {
    result = horizontalPass(current, width);
    current = wholeView(result);
  }
  if (height !== current.height) result = verticalPass(current, height);
  return result ?? copyView(view);
}

const PRECISION_BITS = 22;

function bicubicKernel(distance: number): number {
  const a = -0.5;
  const x = Math.abs(distance);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`: per output pixel, a first input index and weights. */
function resampleCoefficients(
  inSize: number,
  outSize: number,
): { first: Int32Array; count: Int32Array; weights: Int32Array; taps: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const row = new Float64Array(taps);
  for (let out = 0; out < outSize; out++) {
    const center = (out + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const start = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - start;
    let total = 0;
    for (let k = 0; k < n; k++) {
      row[k] = bicubicKernel((k + start - center + 0.5) / filterScale);
      total += row[k];
    }
    for (let k = 0; k < n; k++) {
      const w = total === 0 ? row[k] : row[k] / total;
      weights[out * taps + k] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    first[out] = start;
    count[out] = n;
  }
  return { first, count, weights, taps };
}

type Coefficients = ReturnType<typeof resampleCoefficients>;

/**
 * The coefficients shifted to a fixed window of `taps` inputs (zero weights pad it), so no window runs past the
 * end, for enlargements' 5 taps when `inSize` holds a whole window (undefined otherwise): the passes then run one
 * unrolled loop over five inputs for every output, whatever its own count.
 */
function fixedWindows5(
  inSize: number,
  { first, count, weights, taps }: Coefficients,
): { first: Int32Array; weights: Int32Array } | undefined {
  if (taps !== 5 || inSize < taps) return undefined;
  const outSize = first.length;
  const fixedFirst = new Int32Array(outSize);
  const padded = new Int32Array(outSize * taps);
  for (let out = 0; out < outSize; out++) {
    const start = Math.max(0, Math.min(first[out], inSize - taps));
    const shift = first[out] - start;
    for (let k = 0; k < count[out]; k++) padded[out * taps + shift + k] = weights[out * taps + k];
    fixedFirst[out] = start;
  }
  return { first: fixedFirst, weights: padded };
}

const HALF = 1 << (PRECISION_BITS - 1);

// The passes below are written for V8: fixed windows and unrolled taps where an upscale's kernel has 4–5 of
// them (every zoom into a small box; fixedWindows5), row-major reads in the vertical pass. Integer sums as
// Pillow's, so the output is the same bit for bit; an upscale runs ~1.7× faster than one loop over the taps per channel did.
// The vertical pass runs in WebAssembly SIMD instead where it can (bicubic-simd.ts); this one is its fallback.

function horizontalPass(view: PixelView, outWidth: number): RawImage {
  const height = view.height;
  const out = new Uint8Array(outWidth * height * 3);
  const coefficients = resampleCoefficients(view.width, outWidth);
  const fixed = fixedWindows5(view.width, coefficients);
  const src = view.data;
  const { first, count, weights, taps } = coefficients;
  for (let y = 0; y < height; y++) {
    const row = ((view.top + y) * view.stride + view.left) * 3;
    const o = y * outWidth * 3;
    if (fixed) horizontalRow5(src, row, fixed.first, fixed.weights, out, o, outWidth);
    else horizontalRow(src, row, first, count, weights, taps, out, o, outWidth);
  }
  return { width: outWidth, height, data: out };
}

function horizontalRow5(
  src: Uint8Array,
  row: number,
  first: Int32Array,
  weights: Int32Array,
  out: Uint8Array,
  o: number,
  outWidth: number,
): void {
  for (let x = 0; x < outWidth; x++) {
    const w = x * 5;
    const s = row + first[x] * 3;
    const w0 = weights[w];
    const w1 = weights[w + 1];
    const w2 = weights[w + 2];
    const w3 = weights[w + 3];
    const w4 = weights[w + 4];
    out[o++] = clamp8(
      (HALF + src[s] * w0 + src[s + 3] * w1 + src[s + 6] * w2 + src[s + 9] * w3 + src[s + 12] * w4) >> PRECISION_BITS,
    );
    out[o++] = clamp8(
      (HALF + src[s + 1] * w0 + src[s + 4] * w1 + src[s + 7] * w2 + src[s + 10] * w3 + src[s + 13] * w4) >>
        PRECISION_BITS,
    );
    out[o++] = clamp8(
      (HALF + src[s + 2] * w0 + src[s + 5] * w1 + src[s + 8] * w2 + src[s + 11] * w3 + src[s + 14] * w4) >>
        PRECISION_BITS,
    );
  }
}

function horizontalRow(
  src: Uint8Array,
  row: number,
  first: Int32Array,
  count: Int32Array,
  weights: Int32Array,
  taps: number,
  out: Uint8Array,
  o: number,
  outWidth: number,
): void {
  for (let x = 0; x < outWidth; x++) {
    const n = count[x];
    let w = x * taps;
    let s = row + first[x] * 3;
    let r = HALF;
    let g = HALF;
    let b = HALF;
    for (let k = 0; k < n; k++) {
      const weight = weights[w++];
      r = (r + src[s] * weight) | 0;
      g = (g + src[s + 1] * weight) | 0;
      b = (b + src[s + 2] * weight) | 0;
      s += 3;
    }
    out[o++] = clamp8(r >> PRECISION_BITS);
    out[o++] = clamp8(g >> PRECISION_BITS);
    out[o++] = clamp8(b >> PRECISION_BITS);
  }
}

function verticalPass(view: PixelView, outHeight: number): RawImage {
  const coefficients = resampleCoefficients(view.height, outHeight);
  const { first, count, weights, taps } = coefficients;
  const src = view.data;
  const rowBytes = view.width * 3;
  const step = view.stride * 3;
  const base = (view.top * view.stride + view.left) * 3;
  const input = { data: src, offset: base, stride: step, rowBytes, rows: view.height };
  const simd = verticalPassSimd(input, outHeight, coefficients);
  if (simd) return { width: view.width, height: outHeight, data: simd };
  const out = new Uint8Array(rowBytes * outHeight);
  const fixed = fixedWindows5(view.height, coefficients);
  for (let y = 0; y < outHeight; y++) {
    let o = y * rowBytes;
    if (fixed) {
      const w = y * 5;
      const w0 = fixed.weights[w];
      const w1 = fixed.weights[w + 1];
      const w2 = fixed.weights[w + 2];
      const w3 = fixed.weights[w + 3];
      const w4 = fixed.weights[w + 4];
      const a = base + fixed.first[y] * step;
      const b = a + step;
      const c = b + step;
      const d = c + step;
      const e = d + step;
      for (let i = 0; i < rowBytes; i++) {
        out[o++] = clamp8(
          (HALF + src[a + i] * w0 + src[b + i] * w1 + src[c + i] * w2 + src[d + i] * w3 + src[e + i] * w4) >>
            PRECISION_BITS,
        );
      }
    } else {
      const n = count[y];
      const w = y * taps;
      const a = base + first[y] * step;
      for (let x = 0; x < rowBytes; x += 3) {
        let s = a + x;
        let r = HALF;
        let g = HALF;
        let b = HALF;
        for (let k = 0; k < n; k++) {
          const weight = weights[w + k];
          r = (r + src[s] * weight) | 0;
          g = (g + src[s + 1] * weight) | 0;
          b = (b + src[s + 2] * weight) | 0;
          s += step;
        }
        out[o++] = clamp8(r >> PRECISION_BITS);
        out[o++] = clamp8(g >> PRECISION_BITS);
        out[o++] = clamp8(b >> PRECISION_BITS);
      }
    }
  }
  return { width: view.width, height: outHeight, data: out };
}

/**
 * Pillow's clip8, given the sum already shifted: callers write `sum >> PRECISION_BITS` inline, which lets V8
 * add the products as 32-bit integers (as Pillow's C does) instead of checking each addition for overflow.
 */
function clamp8(value: number): number {
  return value < 0 ? 0 : Math.min(value, 255);
}
