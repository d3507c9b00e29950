import { describe, expect, it } from "vitest";
import { isSquintError } from "../../src/errors.js";
import type { RawImage } from "../../src/model/vision.js";
import { createToolContext, type OcrFunction } from "../../src/tools/context.js";
import { enhanceTool } from "../../src/tools/enhance.js";
import { ocrTool } from "../../src/tools/ocr/ocr-tool.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { processResizePool } from "../../src/tools/store/resize-pool.js";
import { WorkBudget } from "../../src/tools/store/work-budget.js";
import { zoomTool } from "../../src/tools/zoom.js";
import { encode, gradient } from "../tools/images.js";
import { callTool } from "../tools/tool-context.js";

/**
 * Issue 10, memory and concurrency: nothing bounded the pixels held by requests in flight (60 full-photo
 * zooms took a server from 130 MiB to 4 GiB; 12 concurrent OCR calls on an 8192² PNG queued ~200 MB each),
 * and zoom resizes ran on the main thread. Now every pixel job is admitted against a budget (queue, then
 * BUSY), a job over the whole budget is RESOURCE_EXHAUSTED, and large resizes run in worker threads.
 */
const MIB = 1024 * 1024;

function codeOf(error: unknown): string {
  return isSquintError(error) ? error.code : `not a SquintError: ${String(error)}`;
}

describe("WorkBudget", () => {
  it("never lets running work exceed its bytes, and serves the queue first-fit", async () => {
    const budget = new WorkBudget({ maxBytes: 100, maxQueued: 100, maxWaitMs: 10_000 });
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (bytes: number, id: number) =>
      budget.run(bytes, `job ${id}`, async () => {
        running += bytes;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(id);
        running -= bytes;
      });
    await Promise.all([job(60, 1), job(60, 2), job(30, 3), job(10, 4), job(90, 5)]);
    expect(peak).toBeLessThanOrEqual(100);
    // 3 and 4 fit beside 1 while 2 waits: a small job is not held behind a large one.
    expect(order.indexOf(3)).toBeLessThan(order.indexOf(2));
    expect(budget.stats()).toMatchObject({ runningBytes: 0, runningJobs: 0, queuedJobs: 0 });
  });

  it("refuses with BUSY when the queue is full or the wait is too long, RESOURCE_EXHAUSTED when it can never fit", async () => {
    const budget = new WorkBudget({ maxBytes: 100, maxQueued: 1, maxWaitMs: 50 });
    const release = await budget.acquire(100, "holder");
    const waiting = budget.acquire(50, "waiter").catch((error: unknown) => error);
    await expect(budget.acquire(50, "third")).rejects.toMatchObject({ code: "BUSY" });
    expect(codeOf(await waiting)).toBe("BUSY");
    await expect(budget.acquire(101, "huge")).rejects.toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    release();
    const again = await budget.acquire(100, "after");
    again();
    expect(budget.stats().refused).toBe(3);
  });

  it("holds reservedBytes back from concurrent work, yet runs a job alone and refuses none for it", async () => {
    const budget = new WorkBudget({ maxBytes: 100, maxQueued: 10, maxWaitMs: 10_000, reservedBytes: 40 });
    const first = await budget.acquire(50, "first");
    let secondStarted = false;
    // 50 + 40 reserved + 20 > 100: waits, where without the reserve it would start at once.
    const second = budget.acquire(20, "second").then((release) => {
      secondStarted = true;
      return release;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(secondStarted).toBe(false);
    first();
    (await second)();
    // A job over maxBytes − reservedBytes but within maxBytes runs when nothing else does.
    (await budget.acquire(90, "alone"))();
    await expect(budget.acquire(101, "huge")).rejects.toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    expect(budget.stats()).toMatchObject({ reservedBytes: 40, refused: 1, runningBytes: 0 });
    expect(() => new WorkBudget({ maxBytes: 100, reservedBytes: 100 })).toThrow(/reservedBytes/);
  });

  it("lets a waiting job be cancelled", async () => {
    const budget = new WorkBudget({ maxBytes: 10, maxQueued: 5, maxWaitMs: 10_000 });
    const release = await budget.acquire(10, "holder");
    const controller = new AbortController();
    const waiting = budget.acquire(5, "waiter", controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: "ABORTED" });
    release();
    expect(budget.stats().queuedJobs).toBe(0);
  });
});

describe("pixel work under the budget", () => {
  it("holds 60 concurrent full-image zooms to the budget: each succeeds or is BUSY, none grows memory past it", async () => {
    const work = new WorkBudget({ maxBytes: 64 * MIB, maxQueued: 20, maxWaitMs: 20_000 });
    const store = new ImageStore({ work, maxStoreBytes: 128 * MIB });
    const context = createToolContext({ store });
    const original = await store.ingest(await encode(gradient(1600, 1200)), { source: "test" });
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        callTool(zoomTool, { image: original.id, bbox_2d: [0, 0, 1000 - (i % 7), 1000], label: `z${i}` }, context).then(
          () => "ok",
          (error: unknown) => codeOf(error),
        ),
      ),
    );
    const counts: Record<string, number> = {};
    for (const code of outcomes) counts[code] = (counts[code] ?? 0) + 1;
    expect(
      Object.keys(counts).every((code) => code === "ok" || code === "BUSY"),
      JSON.stringify(counts),
    ).toBe(true);
    expect(counts.ok ?? 0).toBeGreaterThan(0);
    // 20 may wait; the rest of the 60 are refused at once rather than queued without bound.
    expect(counts.BUSY ?? 0).toBeGreaterThan(0);
    expect(work.stats().peakBytes).toBeLessThanOrEqual(64 * MIB);
    expect(store.stats().bytes).toBeLessThanOrEqual(128 * MIB);
  }, 120_000);

  it("admits OCR calls before copying their pixels: 12 concurrent calls on a large image never hold more than the budget", async () => {
    const work = new WorkBudget({ maxBytes: 80 * MIB, maxQueued: 64, maxWaitMs: 60_000 });
    const store = new ImageStore({ work });
    let alive = 0;
    let peakAlive = 0;
    const ocr: OcrFunction = async (image: RawImage) => {
      alive += image.data.byteLength;
      peakAlive = Math.max(peakAlive, alive);
      await new Promise((resolve) => setTimeout(resolve, 20));
      alive -= image.data.byteLength;
      return { lines: [], width: image.width, height: image.height } as unknown as Awaited<ReturnType<OcrFunction>>;
    };
    const context = createToolContext({ store, ocr });
    const original = await store.ingest(await encode(gradient(3000, 3000)), { source: "test" }); // 27 MB of RGB
    const results = await Promise.all(
      Array.from({ length: 12 }, () => callTool(ocrTool, { image: original.id }, context).then(() => "ok", codeOf)),
    );
    expect(results.every((code) => code === "ok")).toBe(true);
    // Without admission all 12 crops (324 MB) were alive at once.
    expect(peakAlive).toBeLessThanOrEqual(80 * MIB);
  }, 60_000);

  it("refuses a sharpen whose cost (pixels × sigma) is over the limit, and a job over the whole budget", async () => {
    const store = new ImageStore({ work: new WorkBudget({ maxBytes: 100 * MIB }) });
    const context = createToolContext({ store });
    const big = await store.ingest(await encode(gradient(4000, 4000)), { source: "test" });
    const error = await callTool(enhanceTool, { image: big.id, sharpen: 10 }, context).catch((e: unknown) => e);
    expect(codeOf(error)).toBe("RESOURCE_EXHAUSTED");
    expect((error as Error & { hint?: string }).hint).toMatch(/sharpen ≤ 8|crop/);
    // greyscale of 16 MP needs 3 × 48 MB of work: more than this store's 100 MiB budget.
    const tooBig = await callTool(enhanceTool, { image: big.id, greyscale: true }, context).catch((e: unknown) => e);
    expect(codeOf(tooBig)).toBe("RESOURCE_EXHAUSTED");
  }, 60_000);

  it("resizes large zooms in a worker thread while the event loop keeps running", async () => {
    const store = new ImageStore();
    const context = createToolContext({ store });
    // Sides that are not multiples of 32: the zoom resamples the whole image to 2016×1984, wider and shorter
    // (a real resize, and not a pure shrink, which libvips does: test/tools/zoom-shrink.test.ts).
    const original = await store.ingest(await encode(gradient(2010, 1990)), { source: "test" });
    let ticks = 0;
    let sawWorkerBusy = false;
    const timer = setInterval(() => {
      ticks++;
      if (processResizePool().pending() > 0) sawWorkerBusy = true;
    }, 1);
    try {
      const result = await callTool(zoomTool, { image: original.id, bbox_2d: [0, 0, 1000, 1000] }, context);
      expect([result.structured.image.width, result.structured.image.height]).toEqual([2016, 1984]);
    } finally {
      clearInterval(timer);
    }
    // The main thread saw the resize in flight in the pool, i.e. it was free to run timers meanwhile.
    expect(sawWorkerBusy, `ticks ${ticks}`).toBe(true);
    expect(ticks).toBeGreaterThan(0);
  }, 60_000);
});
