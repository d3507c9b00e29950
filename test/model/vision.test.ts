import fc from "fast-check";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { parsePreprocessorConfig } from "../../src/model/config.js";
import { DEFAULT_PREPROCESSOR_CONFIG } from "../../src/model/config.js";
import { decodeImage } from "../../src/model/image-decode.js";
import {
  patchifyFrames,
  patchifyFramesAsync,
  preprocessImage,
  type RawImage,
  resizeBicubic,
  roundHalfEven,
  smartResize,
  visualTokenCount,
} from "../../src/model/vision.js";
import { photoLike } from "../tools/images.js";

const HF = { factor: 32, minPixels: 65536, maxPixels: 16777216 };

/** Deterministic bytes (xorshift32) so failures reproduce. */
function noiseImage(width: number, height: number, seed: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    data[i] = state & 0xff;
  }
  return { width, height, data };
}

describe("smartResize golden values (spec §2.1 table)", () => {
  const table: [number, number, number, number, [number, number, number], number][] = [
    // input H, W -> resized H, W, grid, pad tokens
    [480, 640, 480, 640, [1, 30, 40], 300],
    [1080, 1920, 1088, 1920, [1, 68, 120], 2040],
    [720, 1040, 704, 1024, [1, 44, 64], 704],
    [100, 100, 256, 256, [1, 16, 16], 64],
    [2048, 3072, 2048, 3072, [1, 128, 192], 6144],
    [3000, 4000, 3008, 4000, [1, 188, 250], 11750],
  ];
  it.each(table)("%i×%i -> %i×%i", (h, w, rh, rw, grid, tokens) => {
    expect(smartResize(h, w, HF)).toEqual({ height: rh, width: rw });
    expect([1, rh / 16, rw / 16]).toEqual(grid);
    expect(visualTokenCount(w, h)).toBe(tokens);
  });

  it("rounds halves to even where JS Math.round would not (720×1040)", () => {
    // 720/32 = 22.5 and 1040/32 = 32.5: Python rounds to 22 and 32, Math.round to 23 and 33 (736×1056).
    expect([Math.round(720 / 32) * 32, Math.round(1040 / 32) * 32]).toEqual([736, 1056]);
    expect(smartResize(720, 1040, HF)).toEqual({ height: 704, width: 1024 });
  });

  it("roundHalfEven matches Python round on floats", () => {
    const cases: [number, number][] = [
      [0.5, 0],
      [1.5, 2],
      [2.5, 2],
      [3.5, 4],
      [22.5, 22],
      [32.5, 32],
      [2.4999999999999996, 2],
      [2.5000000000000004, 3],
      [7, 7],
      [0.49999999999999994, 0],
    ];
    for (const [input, expected] of cases) expect(roundHalfEven(input)).toBe(expected);
  });

  it("rejects sides below the factor with IMAGE_TOO_SMALL and aspect ratios over 200 with INVALID_ARGUMENT", () => {
    expect(() => smartResize(31, 500, HF)).toThrow(expect.objectContaining({ code: "IMAGE_TOO_SMALL" }));
    expect(() => smartResize(500, 31, HF)).toThrow(expect.objectContaining({ code: "IMAGE_TOO_SMALL" }));
    expect(() => smartResize(32, 6401, HF)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(smartResize(32, 6400, HF)).toEqual({ height: 32, width: 6400 });
    expect(() => smartResize(0, 100, HF)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => smartResize(100.5, 100, HF)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => smartResize(100, 100, { factor: 32, minPixels: 10, maxPixels: 5 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", hint: expect.any(String) }),
    );
  });
});

describe("smartResize properties", () => {
  // Budgets with room between min and max (HF itself can overshoot max when min is close to it).
  const budgets = fc.constantFrom(
    { minPixels: 65536, maxPixels: 16777216 },
    { minPixels: 4096, maxPixels: 16777216 },
    { minPixels: 65536, maxPixels: 1003520 },
    { minPixels: 262144, maxPixels: 4194304 },
  );
  const size = fc
    .integer({ min: 32, max: 12000 })
    .chain((height) =>
      fc
        .integer({ min: Math.max(32, Math.ceil(height / 200)), max: Math.min(12000, height * 200) })
        .map((width) => ({ height, width })),
    );

  it("gives multiples of 32 within [minPixels, maxPixels] that keep the aspect ratio within one factor", () => {
    fc.assert(
      fc.property(size, budgets, ({ height, width }, budget) => {
        const out = smartResize(height, width, { factor: 32, ...budget });
        expect(out.height % 32).toBe(0);
        expect(out.width % 32).toBe(0);
        expect(out.height).toBeGreaterThanOrEqual(32);
        expect(out.width).toBeGreaterThanOrEqual(32);
        const area = out.height * out.width;
        expect(area).toBeGreaterThanOrEqual(budget.minPixels);
        expect(area).toBeLessThanOrEqual(budget.maxPixels);
        // Some single scale s (no scaling, or the one that meets the max or min budget exactly) maps the
        // original onto the output with each side off by less than one factor.
        const scales = [
          1,
          Math.sqrt(budget.maxPixels / (height * width)),
          Math.sqrt(budget.minPixels / (height * width)),
        ];
        const fits = scales.some(
          (s) => Math.abs(out.height - height * s) <= 32 && Math.abs(out.width - width * s) <= 32,
        );
        expect(fits).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

/** Element (row, k) of pixel_values from the spec's reshape/permute, computed by index arithmetic alone. */
function expectedByPermute(frames: RawImage[], gh: number, gw: number, T = 2): (row: number, k: number) => number {
  const [C, P, M] = [3, 16, 2];
  // Source tensor [grid_t, T, C, gh/2, M, P, gw/2, M, P]; permuted axes order (0, 3, 6, 4, 7, 2, 1, 5, 8).
  const sourceShape = [frames.length / T, T, C, gh / M, M, P, gw / M, M, P];
  const permutation = [0, 3, 6, 4, 7, 2, 1, 5, 8];
  const permutedShape = permutation.map((axis) => sourceShape[axis]);
  return (row, k) => {
    let flat = row * C * T * P * P + k;
    const permutedIndex = new Array<number>(9);
    for (let axis = 8; axis >= 0; axis--) {
      permutedIndex[axis] = flat % permutedShape[axis];
      flat = Math.floor(flat / permutedShape[axis]);
    }
    const source = new Array<number>(9);
    permutation.forEach((axis, position) => {
      source[axis] = permutedIndex[position];
    });
    const [gt, t, c, bh, mh, py, bw, mw, px] = source;
    const frame = frames[gt * T + t];
    const y = (bh * M + mh) * P + py;
    const x = (bw * M + mw) * P + px;
    const byte = frame.data[(y * frame.width + x) * 3 + c];
    return Math.fround((byte / 255 - 0.5) / 0.5);
  };
}

describe("preprocessImage patch order (spec §2.1)", () => {
  it("puts every element where the reshape/permute puts it", async () => {
    // 64×96 with a 4096-pixel minimum needs no resize, so pixels map one to one.
    const image = noiseImage(96, 64, 12345);
    const out = await preprocessImage(image, { minPixels: 4096 });
    expect(out.gridThw).toEqual([1, 4, 6]);
    expect([out.width, out.height]).toEqual([96, 64]);
    expect(out.pixelValues.length).toBe(24 * 1536);
    const expected = expectedByPermute([image, image], 4, 6);
    let mismatches = 0;
    for (let row = 0; row < 24; row++) {
      for (let k = 0; k < 1536; k++) {
        if (Math.abs(out.pixelValues[row * 1536 + k] - expected(row, k)) > 1e-6) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  it("orders rows by 2×2 merge block and each row as [c][t][py][px]", async () => {
    // R = y, G = x, B = 255 − y: every element says where it came from.
    const width = 128;
    const height = 64;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) data.set([y, x, 255 - y], (y * width + x) * 3);
    }
    const out = await preprocessImage({ width, height, data }, { minPixels: 4096 });
    expect(out.gridThw).toEqual([1, 4, 8]);
    const byte = (row: number, k: number) => Math.round((out.pixelValues[row * 1536 + k] * 0.5 + 0.5) * 255);
    const origin = (row: number) => [byte(row, 0), byte(row, 256 * 2)]; // R and G of (t=0, py=0, px=0)
    // Rows 0–3: the first 2×2 block (patches (0,0), (0,1), (1,0), (1,1)); row 4 starts block (0,1).
    expect([0, 1, 2, 3, 4, 5, 16].map(origin)).toEqual([
      [0, 0],
      [0, 16],
      [16, 0],
      [16, 16],
      [0, 32],
      [0, 48],
      [32, 0],
    ]);
    // Within a row: channel-major (R block, G block, B block), then the two identical frames, then py, px.
    const row = 5; // patch (0, 3): y0 = 0, x0 = 48
    for (let c = 0; c < 3; c++) {
      for (let t = 0; t < 2; t++) {
        for (const [py, px] of [
          [0, 0],
          [3, 7],
          [15, 15],
        ]) {
          const value = byte(row, c * 512 + t * 256 + py * 16 + px);
          const y = py;
          const x = 48 + px;
          expect(value).toBe(c === 0 ? y : c === 1 ? x : 255 - y);
        }
      }
    }
  });
});

describe("patchifyFrames with several and repeated frames", () => {
  // Frames [A, B, C, C]: two temporal groups, the first of distinct frames, the second a frame repeated by
  // reference (the still-image case, written once per plane), so both paths of the walk meet the reference.
  const [a, b, c] = [1, 2, 3].map((seed) => noiseImage(64, 96, seed));
  const frames = [a, b, c, c];
  const expected = expectedByPermute(frames, 6, 4);

  function mismatches(values: Float32Array): number {
    let count = 0;
    for (let row = 0; row < 2 * 24; row++) {
      for (let k = 0; k < 1536; k++) if (Math.abs(values[row * 1536 + k] - expected(row, k)) > 1e-6) count++;
    }
    return count;
  }

  it("puts every element where the reshape/permute puts it, sync and async", async () => {
    const data = frames.map((f) => f.data);
    const sync = patchifyFrames(data, 64, 96, DEFAULT_PREPROCESSOR_CONFIG);
    expect(sync.gridThw).toEqual([2, 6, 4]);
    expect(mismatches(sync.pixelValues)).toBe(0);
    const async = await patchifyFramesAsync(data, 64, 96, DEFAULT_PREPROCESSOR_CONFIG);
    expect(async.pixelValues).toEqual(sync.pixelValues);
  });

  it("copies a repeated frame's planes to the right place wherever its run starts and however long it is", () => {
    // Three frames per temporal patch: [a, c, c] repeats from the second plane, [b, b, b] repeats twice.
    const three = [a, c, c, b, b, b];
    const config = { ...DEFAULT_PREPROCESSOR_CONFIG, temporalPatchSize: 3 };
    const out = patchifyFrames(
      three.map((f) => f.data),
      64,
      96,
      config,
    );
    expect(out.gridThw).toEqual([2, 6, 4]);
    const reference = expectedByPermute(three, 6, 4, 3);
    let count = 0;
    for (let row = 0; row < 2 * 24; row++) {
      for (let k = 0; k < 3 * 3 * 256; k++) {
        if (Math.abs(out.pixelValues[row * 2304 + k] - reference(row, k)) > 1e-6) count++;
      }
    }
    expect(count).toBe(0);
  });

  it("gives the same values for a repeated frame as for an equal copy of it", () => {
    const byReference = patchifyFrames([c.data, c.data], 64, 96, DEFAULT_PREPROCESSOR_CONFIG);
    const byCopy = patchifyFrames([c.data, c.data.slice()], 64, 96, DEFAULT_PREPROCESSOR_CONFIG);
    expect(byReference.pixelValues).toEqual(byCopy.pixelValues);
  });
});

/** One grey row of an RGB image as its red channel. */
function greyRow(values: number[]): RawImage {
  return { width: values.length, height: 1, data: new Uint8Array(values.flatMap((v) => [v, v, v])) };
}
const redChannel = (image: RawImage) => Array.from(image.data.filter((_, i) => i % 3 === 0));

describe("resizeBicubic (Pillow BICUBIC)", () => {
  it("matches Pillow's algorithm on a hand-computed 2 -> 4 upscale", async () => {
    // Keys a = -0.5, centres at (i + 0.5)·scale, kernel cut at the border and renormalised:
    // out[1] = 255 · k(0.75) / (k(0.25) + k(0.75)) = 255 · 0.2265625 / 1.09375 = 52.8 -> 53; out[0] clips to 0.
    const out = await resizeBicubic(greyRow([0, 255]), 4, 1);
    expect(redChannel(out)).toEqual([0, 53, 202, 255]);
  });

  it("keeps pixel centres aligned: a centred step stays centred at any scale", async () => {
    const step = greyRow([0, 0, 0, 0, 255, 255, 255, 255]);
    for (const width of [16, 10, 12, 6, 4]) {
      const out = redChannel(await resizeBicubic(step, width, 1, "exact"));
      for (let i = 0; i < width; i++) {
        // Mirror symmetry about the middle: out[i] + out[width − 1 − i] = 255 (±1 for rounding).
        expect(Math.abs(out[i] + out[width - 1 - i] - 255)).toBeLessThanOrEqual(1);
      }
    }
  });

  it("antialiases when shrinking (the kernel widens with the scale)", async () => {
    const stripes = greyRow(Array.from({ length: 64 }, (_, i) => (i % 2 === 0 ? 0 : 255)));
    const out = redChannel(await resizeBicubic(stripes, 16, 1, "exact"));
    // Point-sampling would give only 0s or 255s; averaging over the widened kernel gives mid grey.
    for (const value of out.slice(1, -1)) expect(Math.abs(value - 127.5)).toBeLessThan(3);
  });

  it("resamples rows and columns independently and leaves an unchanged axis alone", async () => {
    const image = noiseImage(40, 30, 99);
    const same = await resizeBicubic(image, 40, 30);
    expect(same.data).toEqual(image.data);
    const taller = await resizeBicubic(image, 40, 45);
    expect([taller.width, taller.height]).toEqual([40, 45]);
    const wider = await resizeBicubic(image, 70, 30);
    expect([wider.width, wider.height]).toEqual([70, 30]);
    await expect(resizeBicubic(image, 0, 10)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("resizeBicubic fast shrink (sharp)", () => {
  it("stays within a mean of 0.01 (in 0..1 pixel units) of the Pillow-exact resize, and matches it in shape", async () => {
    const image = photoLike(1200, 900);
    const means: number[] = [];
    for (const [w, h] of [
      [640, 480],
      [1184, 896],
      [320, 224],
      [1200, 608],
    ] as const) {
      const fast = await resizeBicubic(image, w, h);
      const exact = await resizeBicubic(image, w, h, "exact");
      expect([fast.width, fast.height]).toEqual([w, h]);
      let sum = 0;
      for (let i = 0; i < fast.data.length; i++) sum += Math.abs(fast.data[i]! - exact.data[i]!);
      const mean = sum / fast.data.length / 255;
      console.log(`fast vs exact shrink 1200×900 → ${w}×${h}: mean |Δ| ${mean.toExponential(2)}`);
      expect(mean).toBeLessThan(0.01);
      means.push(mean);
    }
    // The fast path really is a different computation (else the bound proves nothing).
    expect(Math.max(...means)).toBeGreaterThan(0);
  });

  it("upscales stay Pillow-exact (the fast path only shrinks)", async () => {
    const out = await resizeBicubic(greyRow([0, 255]), 4, 1);
    expect(redChannel(out)).toEqual([0, 53, 202, 255]);
    const image = noiseImage(40, 30, 5);
    const mixed = await resizeBicubic(image, 30, 45);
    expect(mixed.data).toEqual((await resizeBicubic(image, 30, 45, "exact")).data);
  });

  it("runs off the event loop: a callback queued after it starts runs before it finishes", async () => {
    const image = photoLike(2400, 1600);
    const order: string[] = [];
    const fast = resizeBicubic(image, 1280, 832).then(() => order.push("fast resize"));
    setImmediate(() => order.push("event loop"));
    await fast;
    expect(order).toEqual(["event loop", "fast resize"]);
  });
});

describe("preprocessImage", () => {
  it("resizes small images up to the minimum, normalising to [-1, 1]", async () => {
    const png = await sharp({ create: { width: 100, height: 100, channels: 3, background: { r: 255, g: 0, b: 51 } } })
      .png()
      .toBuffer();
    const out = await preprocessImage(png);
    expect(out.gridThw).toEqual([1, 16, 16]);
    expect([out.width, out.height]).toEqual([256, 256]);
    expect(out.pixelValues.length).toBe(256 * 1536);
    // A flat colour stays flat under bicubic resizing.
    const expected = [1, -1, 51 / 127.5 - 1];
    for (const row of [0, 100, 255]) {
      for (let c = 0; c < 3; c++) {
        expect(out.pixelValues[row * 1536 + c * 512 + 300]).toBeCloseTo(expected[c], 5);
      }
    }
  });

  it("downscales with a bicubic kernel to the smart_resize size and agrees with visualTokenCount", async () => {
    const image = noiseImage(1040, 720, 7);
    const out = await preprocessImage(image);
    expect(out.gridThw).toEqual([1, 44, 64]);
    expect([out.width, out.height]).toEqual([1024, 704]);
    expect(visualTokenCount(1040, 720)).toBe((44 * 64) / 4);
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const value of out.pixelValues) {
      if (value < min) min = value;
      if (value > max) max = value;
    }
    expect(min).toBeGreaterThanOrEqual(-1);
    expect(max).toBeLessThanOrEqual(1);
  });

  it("accepts a parsed preprocessor_config.json and its pixel budget", async () => {
    const config = parsePreprocessorConfig({
      size: { shortest_edge: 4096, longest_edge: 200704 },
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.25, 0.5, 1],
    });
    const image = noiseImage(640, 480, 3);
    const out = await preprocessImage(image, config);
    // 480×640 -> beta = sqrt(307200 / 200704); 480/beta/32 = 12.1 -> 384, 640/beta/32 = 16.2 -> 512.
    expect([out.width, out.height]).toEqual([512, 384]);
    expect(visualTokenCount(640, 480, config)).toBe((24 * 32) / 4);
    const small = noiseImage(64, 64, 4);
    const flat = await preprocessImage(small, config);
    // No resize at 64×64 with a 4096 minimum; check the per-channel std on one element per channel.
    for (let c = 0; c < 3; c++) {
      const byteValue = small.data[c];
      const std = [0.25, 0.5, 1][c];
      expect(flat.pixelValues[c * 512]).toBeCloseTo((byteValue / 255 - 0.5) / std, 5);
    }
  });

  it("from encoded bytes: the same grid as from decoded pixels, within 0.01 of the exact path on a shrink", async () => {
    const photo = noiseImage(1600, 1000, 21);
    for (let y = 0; y < 1000; y++) {
      // Smooth the noise into something a JPEG keeps (a gradient with a little grain).
      for (let x = 0; x < 1600; x++) photo.data[(y * 1600 + x) * 3] = (x >> 3) + (photo.data[(y * 1600 + x) * 3] & 7);
    }
    const jpeg = await sharp(photo.data, { raw: { width: 1600, height: 1000, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const options = { maxPixels: 512 * 32 * 32 };
    const fast = await preprocessImage(jpeg, options);
    const exact = await preprocessImage(jpeg, { ...options, resize: "exact" });
    const fromPixels = await preprocessImage(await decodeImage(jpeg), { ...options, resize: "exact" });
    const size = smartResize(1000, 1600, { ...HF, maxPixels: options.maxPixels });
    expect([fast.width, fast.height]).toEqual([size.width, size.height]);
    expect(fast.gridThw).toEqual([1, size.height / 16, size.width / 16]);
    expect(exact.gridThw).toEqual(fast.gridThw);
    expect(exact.pixelValues).toEqual(fromPixels.pixelValues);
    expect(visualTokenCount(1600, 1000, options)).toBe((fast.gridThw[1] * fast.gridThw[2]) / 4);
    let sum = 0;
    for (let i = 0; i < fast.pixelValues.length; i++) sum += Math.abs(fast.pixelValues[i] - exact.pixelValues[i]);
    // Values are (x/255 − 0.5)/0.5, so half their difference is in 0..1 pixel units.
    const mean = (sum / fast.pixelValues.length) * 0.5;
    expect(mean).toBeLessThan(0.01);
    expect(mean).toBeGreaterThan(0);
  });

  it("from encoded bytes: an upscale (a small crop zoomed in) is Pillow-exact", async () => {
    const crop = noiseImage(150, 90, 8);
    const png = await sharp(crop.data, { raw: { width: 150, height: 90, channels: 3 } })
      .png()
      .toBuffer();
    const out = await preprocessImage(png);
    const expected = await preprocessImage(crop, { resize: "exact" });
    expect([out.width, out.height]).toEqual([expected.width, expected.height]);
    expect(out.width).toBeGreaterThan(150);
    expect(out.pixelValues).toEqual(expected.pixelValues);
  });

  it("lets the event loop run while it patches: a repeating setImmediate ticks between the slices", async () => {
    // 2048×1536 needs no resize (no libvips), so every tick seen here is a yield of the patching itself.
    const image = noiseImage(2048, 1536, 2);
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const out = await preprocessImage(image, { maxPixels: 2048 * 1536 });
    running = false;
    expect(out.gridThw).toEqual([1, 96, 128]);
    // A row of merge blocks here is 128 × 2 rows of 1536 values, over one 256 Ki-value slice: it yields after
    // each of the 48, and a synchronous patchify would have let the ticker run once at most.
    expect(ticks).toBeGreaterThanOrEqual(47);
  });

  it("reports bad raw images and too-small images as SquintErrors", async () => {
    await expect(preprocessImage({ width: 4, height: 4, data: new Uint8Array(10) })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(preprocessImage(noiseImage(20, 200, 1))).rejects.toMatchObject({ code: "IMAGE_TOO_SMALL" });
    await expect(preprocessImage(noiseImage(64, 64, 1), { patchSize: 0 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});
