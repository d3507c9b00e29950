import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { identity } from "../../src/tools/geometry.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { WorkBudget } from "../../src/tools/store/work-budget.js";

/**
 * Issue 10, load and soak benches: RSS went hundreds of MB past the budgets. One part was buffers a finished
 * job leaves to the garbage collector: a decode copies the decoder's output into shared memory, and the
 * decoder's buffer (200 MB for an 8192² photo) stayed, uncounted, until the next full GC. Where the budget can
 * ask for a collection, it now counts such buffers until they are collected, and asks when work waits for them.
 */
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

async function until(check: () => boolean): Promise<boolean> {
  for (let round = 0; round < 100; round++) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

describe("bytes held until garbage collection", () => {
  it("makes new work wait for a dead buffer's bytes, asks for a collection, then runs it", async () => {
    let collections = 0;
    const budget = new WorkBudget({
      maxBytes: 100,
      maxQueued: 10,
      maxWaitMs: 10_000,
      collectGarbage: () => {
        collections++;
        gc();
      },
    });
    const running = await budget.acquire(30, "running");
    (() => {
      // Unreachable once this function returns, like a decoder's buffer once the job is done.
      budget.holdUntilCollected(new ArrayBuffer(8), 60);
    })();
    let started = false;
    const waiting = budget.acquire(20, "waiting").then((release) => {
      started = true;
      return release;
    });
    await Promise.resolve();
    // 30 running + 60 awaiting GC + 20 > 100: it waits (before, the 60 were not counted and it ran).
    expect(started).toBe(false);
    expect(budget.stats().awaitingGcBytes).toBe(60);
    // Nothing else happens: the budget's own request for a collection is what lets it start.
    expect(await until(() => started)).toBe(true);
    expect(collections).toBeGreaterThan(0);
    expect(budget.stats().awaitingGcBytes).toBe(0);
    (await waiting)();
    running();
  });

  it("asks for no collection when the waiting job waits for a large-job slot, not for the garbage", async () => {
    // Under the load bench a large zoom always waited for the one large slot while evicted pixels awaited the
    // GC: the budget forced a full collection (~58 ms) every 100 ms, 36 % of the event loop, for nothing.
    let collections = 0;
    const budget = new WorkBudget({
      maxBytes: 1000,
      largeJobBytes: 100,
      maxLargeJobs: 1,
      smallLaneBytes: 0,
      maxQueued: 10,
      maxWaitMs: 10_000,
      collectGarbage: () => {
        collections++;
        gc();
      },
    });
    const garbage = new ArrayBuffer(8);
    budget.holdUntilCollected(garbage, 100);
    const large = await budget.acquire(200, "large running");
    let started = false;
    const waiting = budget.acquire(200, "large waiting").then((release) => {
      started = true;
      return release;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // 200 + 100 + 200 fit the 1000: only the slot holds it back, so no collection was asked for.
    expect(started).toBe(false);
    expect(collections).toBe(0);
    large();
    (await waiting)();
    expect(garbage.byteLength).toBe(8);
  });

  it("paces forced collections by what they cost: ten times the last one's time between them", async () => {
    let collections = 0;
    const budget = new WorkBudget({
      maxBytes: 100,
      maxQueued: 10,
      maxWaitMs: 10_000,
      collectGarbage: () => {
        collections++;
        // A collection that takes 30 ms (the buffer below stays reachable, so the waiter never fits).
        const until = performance.now() + 30;
        while (performance.now() < until) {}
      },
    });
    const running = await budget.acquire(30, "running");
    const garbage = new ArrayBuffer(8);
    budget.holdUntilCollected(garbage, 60);
    const waiting = budget.acquire(20, "waiting").catch(() => undefined);
    // Small jobs come and go meanwhile (each one's end looks at the queue again, as on a busy server).
    const stopAt = performance.now() + 650;
    while (performance.now() < stopAt) {
      const release = await budget.acquire(1, "small");
      await new Promise((resolve) => setTimeout(resolve, 10));
      release();
    }
    // At 100 ms apart this would be 6 or 7; 300 ms apart (10 × 30 ms) it is at most 3.
    expect(collections).toBeGreaterThanOrEqual(1);
    expect(collections).toBeLessThanOrEqual(3);
    expect(budget.stats().forcedGcs).toBe(collections);
    running();
    await waiting;
    expect(garbage.byteLength).toBe(8);
  });

  it("counts nothing when it cannot ask for a collection (no gc), so work never waits on the GC", async () => {
    const budget = new WorkBudget({ maxBytes: 100 });
    budget.holdUntilCollected(new ArrayBuffer(8), 60);
    expect(budget.stats().awaitingGcBytes).toBe(0);
  });

  it("holds a decode's own output buffer after the pixels were copied into shared memory", async () => {
    const work = new WorkBudget({ maxBytes: 64 * 1024 * 1024, collectGarbage: gc });
    const store = new ImageStore({ work });
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#102030" } })
      .png()
      .toBuffer();
    const image = await store.ingest(png);
    expect(store.pixels(image.id).data.buffer).toBeInstanceOf(SharedArrayBuffer);
    // Counted right after the decode (or already collected, never anything else).
    expect([0, 300 * 200 * 3]).toContain(work.stats().awaitingGcBytes);
    gc();
    expect(await until(() => work.stats().awaitingGcBytes === 0)).toBe(true);
  });

  it("holds an evicted image's pixels until they are collected (the store drops them, the GC frees them)", async () => {
    const work = new WorkBudget({ maxBytes: 64 * 1024 * 1024, collectGarbage: gc });
    // Room for one 300×200 derived image: the second evicts the first.
    const store = new ImageStore({ work, maxStoreBytes: 300 * 200 * 3 * 1.5 });
    const png = await sharp({ create: { width: 30, height: 20, channels: 3, background: "#102030" } })
      .png()
      .toBuffer();
    const parent = await store.ingest(png);
    gc();
    expect(await until(() => work.stats().awaitingGcBytes === 0)).toBe(true);
    const derive = () =>
      store.derive(
        parent.id,
        { width: 300, height: 200, data: new Uint8Array(300 * 200 * 3) },
        { operation: "zoom", toParent: identity },
      );
    const first = derive();
    derive();
    expect(() => store.pixels(first.id)).toThrow(/evicted/);
    // The first image's 180 kB are garbage but not yet freed: counted until the collector frees them.
    expect(work.stats().awaitingGcBytes).toBe(300 * 200 * 3);
    gc();
    expect(await until(() => work.stats().awaitingGcBytes === 0)).toBe(true);
  });
});
