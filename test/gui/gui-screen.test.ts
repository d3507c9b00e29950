import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { SquintError } from "../../src/errors.js";
import { capture } from "../../src/gui/capture.js";
import { gui, type Screen } from "../../src/gui/index.js";
import { compareFingerprints, fingerprint, screenChanged } from "../../src/gui/pixel-check.js";
import type { OcrFunction } from "../../src/tools/context.js";
import type { OcrResult } from "../../src/tools/ocr/types.js";
import { ImageStore } from "../../src/tools/store/image-store.js";

/**
 * A screen drawn with sharp: a 400×300 logical screen whose screenshots are `scale` times larger, with dark
 * rectangles ("buttons") at logical positions. It records clicks and typing in logical pixels.
 */
class DrawnScreen implements Screen {
  clicks: [number, number][] = [];
  typed: string[] = [];
  constructor(
    public scale: number,
    public rects: { x: number; y: number; w: number; h: number }[],
    public logical = { width: 400, height: 300 },
  ) {}
  async screenshot(): Promise<Uint8Array> {
    const s = this.scale;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${this.logical.width * s}" height="${this.logical.height * s}"><rect width="100%" height="100%" fill="#fff"/>${this.rects
      .map((r) => `<rect x="${r.x * s}" y="${r.y * s}" width="${r.w * s}" height="${r.h * s}" fill="#223"/>`)
      .join("")}</svg>`;
    return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());
  }
  async size() {
    return this.logical;
  }
  async click(x: number, y: number) {
    this.clicks.push([x, y]);
  }
  async type(text: string) {
    this.typed.push(text);
  }
}

/** An OCR stand-in that "reads" OK on the first rectangle, in pixels of the image it is given. */
function okReader(screen: DrawnScreen, calls: { width: number }[]): OcrFunction {
  return async (image) => {
    calls.push({ width: image.width });
    const s = image.width / screen.logical.width;
    const r = screen.rects[0]!;
    const box = { x1: r.x * s, y1: r.y * s, x2: (r.x + r.w) * s, y2: (r.y + r.h) * s };
    const result: OcrResult = {
      width: image.width,
      height: image.height,
      lines: [{ text: "OK", confidence: 0.99, box, boxRel1000: [0, 0, 0, 0], words: [], engine: "ppocr" }],
    };
    return result;
  };
}

describe("capture", () => {
  it("measures the scale on the screenshot and maps back through it", async () => {
    for (const scale of [1, 1.5, 2, 3]) {
      const shot = await capture(new DrawnScreen(scale, []), new ImageStore());
      expect(shot.scale).toEqual({ x: scale, y: scale });
      expect(shot.toViewport.a).toBeCloseTo(1 / scale, 12);
    }
  });

  it("refuses a screenshot that is not of the screen's shape", async () => {
    const screen = new DrawnScreen(2, []);
    screen.size = async () => ({ width: 300, height: 400 });
    const error = await capture(screen, new ImageStore()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SquintError);
    expect((error as SquintError).code).toBe("INVALID_ARGUMENT");
  });
});

describe("pixel checks", () => {
  it("a region's look compares across scales and tells a changed region apart", async () => {
    const store = new ImageStore();
    const button = { x: 40, y: 40, w: 80, h: 24 };
    const box = { x1: 40, y1: 40, x2: 120, y2: 64 };
    const at1 = await capture(new DrawnScreen(1, [button]), store);
    const at2 = await capture(new DrawnScreen(2, [button]), store);
    const moved = await capture(new DrawnScreen(1, [{ ...button, x: 70 }]), store);
    const look1 = fingerprint(at1, store.pixels(at1.image.id), box);
    expect(compareFingerprints(look1, fingerprint(at2, store.pixels(at2.image.id), box)).match).toBe(true);
    expect(compareFingerprints(look1, fingerprint(moved, store.pixels(moved.image.id), box)).match).toBe(false);
  });

  it("sees a change anywhere, or only within a region", async () => {
    const store = new ImageStore();
    const a = await capture(new DrawnScreen(2, [{ x: 10, y: 10, w: 20, h: 20 }]), store);
    const b = await capture(
      new DrawnScreen(2, [
        { x: 10, y: 10, w: 20, h: 20 },
        { x: 300, y: 200, w: 4, h: 4 },
      ]),
      store,
    );
    const pa = { shot: a, pixels: store.pixels(a.image.id) };
    const pb = { shot: b, pixels: store.pixels(b.image.id) };
    expect(screenChanged(pa, pa).changed).toBe(false);
    expect(screenChanged(pa, pb)).toEqual({ changed: true, changedPixels: 64 });
    expect(screenChanged(pa, pb, { x1: 0, y1: 0, x2: 100, y2: 100 }).changed).toBe(false);
  });
});

describe("gui(screen)", () => {
  it("clicks in logical pixels what OCR found in screenshot pixels, at any scale", async () => {
    for (const scale of [1, 2, 3]) {
      const screen = new DrawnScreen(scale, [{ x: 50, y: 100, w: 60, h: 20 }]);
      const reads: { width: number }[] = [];
      const ui = gui(screen, { ocr: okReader(screen, reads), settleMs: 0 });
      const result = await ui.click('"OK"');
      expect(screen.clicks).toEqual([[80, 110]]);
      expect(result.box).toEqual([50, 100, 110, 120]);
      expect(result.scale).toBe(scale);
      // No document to ask: nothing claims to be verified.
      expect(result.verified).toBe(false);
      expect(reads).toEqual([{ width: 400 * scale }]);
    }
  });

  it("reads a smaller copy under ocrMaxScale and still clicks the right logical point", async () => {
    const screen = new DrawnScreen(3, [{ x: 50, y: 100, w: 60, h: 20 }]);
    const reads: { width: number }[] = [];
    const ui = gui(screen, { ocr: okReader(screen, reads), settleMs: 0, ocrMaxScale: 1.5 });
    const result = await ui.click('"OK"');
    expect(reads).toEqual([{ width: 600 }]);
    expect(screen.clicks).toEqual([[80, 110]]);
    expect(result.box).toEqual([50, 100, 110, 120]);
    expect(result.scale).toBe(3);
    expect(() => gui(screen, { ocrMaxScale: 0 })).toThrow(SquintError);
  });

  it("with all, returns every match, an exact line before one that only contains the text", async () => {
    const screen = new DrawnScreen(2, [
      { x: 50, y: 100, w: 60, h: 20 },
      { x: 200, y: 40, w: 90, h: 20 },
    ]);
    const ocr: OcrFunction = async (image) => {
      const line = (text: string, r: { x: number; y: number; w: number; h: number }) => ({
        text,
        confidence: 0.9,
        box: { x1: r.x * 2, y1: r.y * 2, x2: (r.x + r.w) * 2, y2: (r.y + r.h) * 2 },
        boxRel1000: [0, 0, 0, 0] as [number, number, number, number],
        words: [],
        engine: "ppocr" as const,
      });
      // The longer line comes first, and reads with more confidence: ranking must still prefer the exact one.
      return {
        width: image.width,
        height: image.height,
        lines: [line("OK, continue", screen.rects[1]!), line("OK", screen.rects[0]!)],
      };
    };
    const located = await gui(screen, { ocr, settleMs: 0 }).locate('"OK"', { all: true });
    expect(located.found).toBe(true);
    expect(located.matches).toHaveLength(2);
    expect(located.text).toBe("OK");
    expect(located.box).toEqual([50, 100, 110, 120]);
    expect(located.matches![1]!.text).toBe("OK, continue");
  });

  it("types after clicking, and fails the check when the screen did not change", async () => {
    const screen = new DrawnScreen(2, [{ x: 50, y: 100, w: 60, h: 20 }]);
    const ui = gui(screen, { ocr: okReader(screen, []), settleMs: 0 });
    const error = (await ui.type('"OK"', "hello").catch((e: unknown) => e)) as SquintError;
    expect(screen.typed).toEqual(["hello"]);
    expect(error.code).toBe("ACTION_NOT_VERIFIED");
    expect(error.message).toMatch(/did not change/);
  });

  it("an aborted signal stops locating and acting before anything is clicked", async () => {
    const screen = new DrawnScreen(1, [{ x: 50, y: 100, w: 60, h: 20 }]);
    const controller = new AbortController();
    controller.abort();
    const ui = gui(screen, { ocr: okReader(screen, []), settleMs: 0, abortSignal: controller.signal });
    await expect(ui.click('"OK"')).rejects.toMatchObject({ code: "ABORTED" });
    expect(screen.clicks).toEqual([]);
  });

  it("refuses what is not a screen, and actions the screen cannot do", async () => {
    expect(() => gui({ screenshot: async () => new Uint8Array() } as unknown as Screen)).toThrow(SquintError);
    const ui = gui(new DrawnScreen(1, []), { settleMs: 0 });
    await expect(ui.hover('"OK"')).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(ui.press("Enter")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(ui.locate("   ")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(() => gui(new DrawnScreen(1, []), { settleMs: -1 })).toThrow(SquintError);
  });
});
