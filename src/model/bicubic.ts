import { SquintError } from "../errors.js";
import type { RawImage } from "./image-decode.js";

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

/** An integer rectangle of an image's pixels. */
export interface PixelRegion {
  left: number;
  top: number;
  width: number;
  height: number;
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
    result = resamplePass(current, width, true);
    current = wholeView(result);
  }
  if (height !== current.height) result = resamplePass(current, height, false);
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

function resamplePass(view: PixelView, outSize: number, horizontal: boolean): RawImage {
  const inSize = horizontal ? view.width : view.height;
  const { first, count, weights, taps } = resampleCoefficients(inSize, outSize);
  const width = horizontal ? outSize : view.width;
  const height = horizontal ? view.height : outSize;
  const src = view.data;
  const stride = view.stride;
  const out = new Uint8Array(width * height * 3);
  const half = 1 << (PRECISION_BITS - 1);
  // Stride (in bytes) between neighbouring input samples along the resampled axis.
  const step = horizontal ? 3 : stride * 3;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = horizontal ? x : y;
      const n = count[o];
      const wBase = o * taps;
      let base = horizontal
        ? ((view.top + y) * stride + view.left + first[o]) * 3
        : ((view.top + first[o]) * stride + view.left + x) * 3;
      let r = half;
      let g = half;
      let b = half;
      for (let k = 0; k < n; k++) {
        const w = weights[wBase + k];
        r += src[base] * w;
        g += src[base + 1] * w;
        b += src[base + 2] * w;
        base += step;
      }
      const i = (y * width + x) * 3;
      out[i] = clip8(r);
      out[i + 1] = clip8(g);
      out[i + 2] = clip8(b);
    }
  }
  return { width, height, data: out };
}

function clip8(sum: number): number {
  const value = sum >> PRECISION_BITS;
  return Math.max(0, Math.min(255, value));
}
