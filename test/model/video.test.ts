import fc from "fast-check";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import {
  formatFixedHalfEven,
  groupTimestamps,
  preprocessVideo,
  sampleFrameIndices,
  smartResizeVideo,
} from "../../src/model/video.js";
import type { RawImage } from "../../src/model/vision.js";

function flatFrame(width: number, height: number, value: number): RawImage {
  return { width, height, data: new Uint8Array(width * height * 3).fill(value) };
}

const VIDEO = { factor: 32, temporalFactor: 2, minPixels: 4096, maxPixels: 25165824 };

describe("frame sampling (transformers sample_frames)", () => {
  it("samples a 10 s clip at 30 fps down to 20 frames (spec §2.2 example)", () => {
    const indices = sampleFrameIndices(300, { sourceFps: 30 });
    expect(indices).toEqual([
      0, 16, 31, 47, 63, 79, 94, 110, 126, 142, 157, 173, 189, 205, 220, 236, 252, 268, 283, 299,
    ]);
    const timestamps = groupTimestamps(indices, 30).map((t) => formatFixedHalfEven(t, 1));
    expect(timestamps).toEqual(["0.3", "1.3", "2.4", "3.4", "4.5", "5.5", "6.6", "7.6", "8.7", "9.7"]);
  });

  it("clamps to minFrames but never beyond the frames there are", () => {
    // int(10 / 30 · 2) = 0 -> raised to 4 -> linspace(0, 9, 4).
    expect(sampleFrameIndices(10, { sourceFps: 30 })).toEqual([0, 3, 6, 9]);
    expect(sampleFrameIndices(3, { sourceFps: 30 })).toEqual([0, 1, 2]);
    expect(sampleFrameIndices(1000, { sourceFps: 1, fps: 2, maxFrames: 5 })).toEqual([0, 250, 500, 749, 999]);
  });

  it("rounds linspace halves to even as numpy does", () => {
    // linspace(0, 5, 5) = 0, 1.25, 2.5, 3.75, 5 -> numpy round gives 0, 1, 2, 4, 5.
    expect(sampleFrameIndices(6, { sourceFps: 1, fps: 1, minFrames: 5, maxFrames: 5 })).toEqual([0, 1, 2, 4, 5]);
  });

  it("rejects non-positive frame rates", () => {
    expect(() => sampleFrameIndices(10, { sourceFps: 0 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(() => sampleFrameIndices(10, { sourceFps: 30, fps: -1 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });
});

describe("timestamps", () => {
  it("formats like Python %.1f: exact binary value, ties to even", () => {
    const cases: [number, number, string][] = [
      [0.25, 1, "0.2"], // exact tie: JS toFixed gives "0.3"
      [0.35, 1, "0.3"], // 0.34999999999999997…
      [0.75, 1, "0.8"],
      [1.25, 1, "1.2"],
      [2.75, 1, "2.8"],
      [0.05, 1, "0.1"], // 0.05000000000000000277…
      [0.15, 1, "0.1"], // 0.14999999999999999444…
      [1.005, 2, "1.00"],
      [0.125, 2, "0.12"],
      [2.5, 0, "2"],
      [3.5, 0, "4"],
      [-0.25, 1, "-0.2"],
      [0, 1, "0.0"],
      [1e21, 1, "1000000000000000000000.0"],
      [123.456, 3, "123.456"],
    ];
    for (const [value, digits, expected] of cases) expect(formatFixedHalfEven(value, digits)).toBe(expected);
    expect((0.25).toFixed(1)).toBe("0.3");
  });

  it("agrees with toFixed everywhere except exact ties", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 6 }), (value, digits) => {
        const scaled = value * 10 ** digits * 2;
        fc.pre(!Number.isInteger(scaled));
        expect(formatFixedHalfEven(value, digits)).toBe(value.toFixed(digits));
      }),
      { numRuns: 1000 },
    );
  });

  it("averages each pair after padding the indices to even", () => {
    // Frames 0..4 at 2 fps: seconds 0, .5, 1, 1.5, 2 (+ 2 repeated) -> 0.25, 1.25, 2.
    expect(groupTimestamps([0, 1, 2, 3, 4], 2)).toEqual([0.25, 1.25, 2]);
    expect(groupTimestamps([], 2)).toEqual([]);
  });
});

describe("smartResizeVideo (budget over all frames)", () => {
  // Golden values from a Python run of transformers' video smart_resize (Python round, math.floor/ceil).
  const table: [number, number, number, number, number, number, number][] = [
    // frames, H, W, min, max -> H', W'
    [768, 1080, 1920, 4096, 25165824, 128, 224],
    [40, 1080, 1920, 4096, 25165824, 576, 1056],
    [20, 720, 1280, 4096, 25165824, 704, 1280], // 720/32 = 22.5 -> 22 (Math.round would give 736)
    [16, 480, 640, 131072, 786432, 192, 256],
    [20, 720, 1280, 131072, 786432, 128, 256],
    [4, 16, 40, 4096, 25165824, 32, 64], // tiny frames upscaled to 32×80 first; 80/32 = 2.5 -> 2
    [3, 10, 20, 4096, 25165824, 32, 64],
  ];
  it.each(table)("%i frames of %i×%i (budget %i–%i) -> %i×%i", (frames, h, w, minPixels, maxPixels, rh, rw) => {
    expect(smartResizeVideo(frames, h, w, { ...VIDEO, minPixels, maxPixels })).toEqual({ height: rh, width: rw });
  });

  it("needs at least two frames and a sane aspect ratio", () => {
    expect(() => smartResizeVideo(1, 64, 64, VIDEO)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => smartResizeVideo(4, 32, 6500, VIDEO)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("preprocessVideo", () => {
  it("patches 2-frame groups in time order, pads an odd count with the last frame, and times each group", async () => {
    // Five 64×64 frames at 2 fps; frame k is flat grey 40·k.
    const frames = [0, 1, 2, 3, 4].map((k) => flatFrame(64, 64, 40 * k));
    const out = await preprocessVideo(frames, { sourceFps: 2 });
    expect(out.frameIndices).toEqual([0, 1, 2, 3, 4]);
    // t_bar = round(5/2)·2 = 4 (half-even), 4·64·64 >= 4096: no resize.
    expect([out.width, out.height]).toEqual([64, 64]);
    expect(out.gridThw).toEqual([3, 4, 4]);
    expect(out.tokensPerGroup).toBe(4);
    expect(out.timestamps).toEqual(["0.2", "1.2", "2.0"]);
    expect(out.pixelValues.length).toBe(3 * 16 * 1536);
    const value = (group: number, t: number) => out.pixelValues[group * 16 * 1536 + t * 256 + 17];
    const normalised = (k: number) => Math.fround((40 * k) / 127.5 - 1);
    expect([value(0, 0), value(0, 1), value(1, 0), value(1, 1), value(2, 0), value(2, 1)]).toEqual(
      [0, 1, 2, 3, 4, 4].map(normalised),
    );
  });

  it("decodes only the sampled frames and resizes them to the video budget", async () => {
    const png = (value: number) =>
      sharp({ create: { width: 40, height: 16, channels: 3, background: { r: value, g: value, b: value } } })
        .png()
        .toBuffer();
    const frames: (RawImage | Uint8Array | string)[] = await Promise.all([png(0), png(80), png(160), png(240)]);
    // Anything not sampled is never decoded: a broken frame in between must not matter.
    const withJunk = [frames[0], frames[1], new Uint8Array([1, 2, 3]), frames[2], frames[3]];
    const out = await preprocessVideo(withJunk, { sourceFps: 1, fps: 1, minFrames: 4, maxFrames: 4 });
    expect(out.frameIndices).toEqual([0, 1, 3, 4]);
    await expect(preprocessVideo(frames, { sourceFps: 1, fps: 1 })).resolves.toMatchObject({
      gridThw: [2, 2, 4],
      width: 64,
      height: 32,
      tokensPerGroup: 2,
      timestamps: ["0.5", "2.5"],
    });
  });

  it("the per-frame cap (transformers 5 cap_pixels_per_frame) changes the budget as qwen-vl-utils does", async () => {
    const frames = Array.from({ length: 4 }, () => flatFrame(256, 256, 100));
    const budget = { sourceFps: 2, minPixels: 65536, maxPixels: 131072 };
    // Uncapped: 4·256·256 > 131072 -> beta = sqrt(2) -> floor(256/beta/32)·32 = 160.
    const uncapped = await preprocessVideo(frames, budget);
    expect([uncapped.width, uncapped.height]).toEqual([160, 160]);
    // Capped: per frame max(min(768·32², 131072/4), int(1.05·65536)) = 68812 -> budget 275248 -> no resize.
    const capped = await preprocessVideo(frames, { ...budget, capPixelsPerFrame: true });
    expect([capped.width, capped.height]).toEqual([256, 256]);
  });

  it("refuses empty videos, single frames and frames of different sizes", async () => {
    await expect(preprocessVideo([], { sourceFps: 2 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(preprocessVideo([flatFrame(64, 64, 0)], { sourceFps: 2 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(
      preprocessVideo([flatFrame(64, 64, 0), flatFrame(64, 96, 0), flatFrame(64, 64, 0), flatFrame(64, 64, 0)], {
        sourceFps: 2,
      }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT", hint: expect.any(String) });
  });
});
