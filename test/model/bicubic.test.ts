import { afterAll, describe, expect, it } from "vitest";
import { compiledModuleBase64 } from "../../scripts/build-wasm.js";
import { resizeRegionBicubicSync } from "../../src/model/bicubic.js";
import { SIMD_BAND_BYTES, setSimdBandBytes, setSimdEnabled, simdBandsRun } from "../../src/model/bicubic-simd.js";
import { BICUBIC_SIMD_WASM } from "../../src/model/bicubic-simd-module.js";

/**
 * The resize passes are unrolled and fixed-window for speed (issue 10: the resize was the largest CPU cost of a
 * small zoom). They must give the very bytes of Pillow's algorithm written the plain way: per output sample,
 * one loop over its taps in 32-bit integer arithmetic (Pillow's ImagingResampleHorizontal/Vertical_8bpc).
 * The reference here is that plain form, written from Pillow's description, not from src/. Both vertical
 * passes are held to it: the WebAssembly SIMD one (used up to a few megabytes) and the JavaScript one.
 */
function pillowAxis(inSize: number, outSize: number) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const cubic = (d: number) => {
    const x = Math.abs(d);
    if (x < 1) return (1.5 * x - 2.5) * x * x + 1;
    if (x < 2) return ((-0.5 * x + 2.5) * x - 4) * x + 2;
    return 0;
  };
  return Array.from({ length: outSize }, (_, out) => {
    const center = (out + 0.5) * scale;
    const start = Math.max(Math.trunc(center - support + 0.5), 0);
    const end = Math.min(Math.trunc(center + support + 0.5), inSize);
    const raw = Array.from({ length: end - start }, (_, k) => cubic((k + start - center + 0.5) / filterScale));
    const total = raw.reduce((a, b) => a + b, 0);
    const weights = raw.map((w) => {
      const n = total === 0 ? w : w / total;
      return Math.trunc(n < 0 ? -0.5 + n * 2 ** 22 : 0.5 + n * 2 ** 22);
    });
    return { start, weights };
  });
}

/**
 * One pass along one axis: output sample (x, y) sums input samples along the axis, Pillow's way. `horizontal`
 * picks the axis; the other keeps its size.
 */
function referencePass(src: Uint8Array, width: number, height: number, outSize: number, horizontal: boolean) {
  const axis = pillowAxis(horizontal ? width : height, outSize);
  const outWidth = horizontal ? outSize : width;
  const outHeight = horizontal ? height : outSize;
  const out = new Uint8Array(outWidth * outHeight * 3);
  for (let y = 0; y < outHeight; y++)
    for (let x = 0; x < outWidth; x++)
      for (let c = 0; c < 3; c++) {
        const { start, weights } = axis[horizontal ? x : y]!;
        let sum = 1 << 21;
        weights.forEach((k, i) => {
          const at = horizontal ? y * width + start + i : (start + i) * width + x;
          sum = (sum + src[at * 3 + c]! * k) | 0;
        });
        out[(y * outWidth + x) * 3 + c] = Math.max(0, Math.min(255, sum >> 22));
      }
  return out;
}

/** Pillow's order: the horizontal pass first, each pass skipped when its size does not change. */
function referenceResize(src: Uint8Array, srcWidth: number, srcHeight: number, width: number, height: number) {
  const wide = width === srcWidth ? src : referencePass(src, srcWidth, srcHeight, width, true);
  return height === srcHeight ? wide : referencePass(wide, width, srcHeight, height, false);
}

describe.each([
  ["WebAssembly SIMD", true, SIMD_BAND_BYTES],
  // Bands of 16 KiB: the larger outputs here are split into many bands, as a near-full zoom's 32 MB is.
  ["WebAssembly SIMD, in small bands", true, 16 * 1024],
  ["JavaScript", false, SIMD_BAND_BYTES],
])("resizeRegionBicubicSync (vertical pass in %s) against the plain Pillow loops", (_name, simd, band) => {
  afterAll(() => {
    setSimdEnabled(true);
    setSimdBandBytes(SIMD_BAND_BYTES);
  });
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const size = (max: number) => 1 + Math.floor(random() * max);
  // Upscales (4–5 taps: the unrolled paths), shrinks (wide kernels), rows narrower than a window, one pass only.
  const cases = [
    ...Array.from({ length: 12 }, () => [size(60), size(40), size(200), size(150)] as const),
    ...Array.from({ length: 8 }, () => [size(200), size(150), size(50), size(40)] as const),
    [1, 1, 7, 5],
    [2, 3, 9, 1],
    [4, 4, 4, 17],
    [5, 2, 23, 2],
    [3, 60, 3, 13],
    [13, 13, 64, 64],
  ] as const;
  for (const [rw, rh, ow, oh] of cases) {
    it(`${rw}×${rh} → ${ow}×${oh}`, () => {
      const image = { width: rw + 9, height: rh + 7, data: new Uint8Array((rw + 9) * (rh + 7) * 3) };
      for (let i = 0; i < image.data.length; i++)
        image.data[i] = random() < 0.3 ? 255 * Math.round(random()) : random() * 256;
      const region = { left: 4, top: 3, width: rw, height: rh };
      const crop = new Uint8Array(rw * rh * 3);
      for (let y = 0; y < rh; y++)
        crop.set(
          image.data.subarray(((3 + y) * image.width + 4) * 3, ((3 + y) * image.width + 4 + rw) * 3),
          y * rw * 3,
        );
      setSimdEnabled(simd);
      setSimdBandBytes(band);
      const actual = resizeRegionBicubicSync(image, region, ow, oh);
      const expected = referenceResize(crop, rw, rh, ow, oh);
      expect(Buffer.from(actual.data).equals(Buffer.from(expected))).toBe(true);
    });
  }
});

describe("the WebAssembly pass in bands", () => {
  afterAll(() => setSimdBandBytes(SIMD_BAND_BYTES));

  it("splits a large output into bands, each run in WebAssembly, bit for bit the one-band result", () => {
    const image = { width: 120, height: 90, data: new Uint8Array(120 * 90 * 3) };
    for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 2654435761) >>> 24;
    const region = { left: 5, top: 4, width: 100, height: 80 };
    const whole = resizeRegionBicubicSync(image, region, 400, 320);
    setSimdBandBytes(16 * 1024);
    const before = simdBandsRun();
    const banded = resizeRegionBicubicSync(image, region, 400, 320);
    // 400 px rows of 1200 bytes: a 16 KiB band holds about 6 output rows and their input rows.
    expect(simdBandsRun() - before).toBeGreaterThan(40);
    expect(Buffer.from(banded.data).equals(Buffer.from(whole.data))).toBe(true);
  });

  it("leaves a row too wide for one band to the JavaScript pass", () => {
    const image = { width: 50, height: 10, data: new Uint8Array(50 * 10 * 3).fill(77) };
    setSimdBandBytes(256);
    const before = simdBandsRun();
    const out = resizeRegionBicubicSync(image, { left: 0, top: 0, width: 50, height: 10 }, 100, 40);
    expect(simdBandsRun()).toBe(before);
    expect(out.data.every((value) => value === 77)).toBe(true);
  });
});

describe("the committed WebAssembly module", () => {
  it("is what bicubic-simd.wat compiles to (run scripts/build-wasm.ts after editing the .wat)", async () => {
    expect(BICUBIC_SIMD_WASM).toBe(await compiledModuleBase64());
  });
});
