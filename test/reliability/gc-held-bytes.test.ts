import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { identity } from "../../src/tools/geometry.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { WorkBudget, type WorkBudgetOptions } from "../../src/tools/store/work-budget.js";

/**
 * Issue 10, load and soak benches: RSS went hundreds of MB past the budgets. One part was buffers a finished
 * job leaves to the garbage collector: a decode copies the decoder's output into shared memory, and the
 * decoder's buffer (200 MB for an 8192² photo) stayed, uncounted, until the next full GC. Where the budget can
 * ask for a collection, it now counts such buffers until they are collected, and asks when work waits for them.
 */
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** A budget whose collections are counted; `collect` is what one does (the real gc by default). */
function countingBudget(options: Partial<WorkBudgetOptions>, collect: () => void = gc) {
  let collections = 0;
  const budget = new WorkBudget({
    ...options,
    collectGarbage: () => {
      collections++;
      collect();
    },
  });
  return { budget, collections: () => collections };
}

/** A job's admission, with whether it has started yet. */
function tracked(admission: Promise<() => void>) {
  const job = { started: false, release: admission };
  job.release = admission.then((release) => {
    job.started = true;
    return release;
  });
  return job;
}

/** Small jobs coming and going (each one's end looks at the queue again, as on a busy server). */
async function smallJobsComeAndGo(budget: WorkBudget, done: (round: number) => boolean): Promise<void> {
  for (let round = 0; !done(round); round++) {
    const release = await budget.acquire(1, "small");
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
  }
}

async function until(check: () => boolean): Promise<boolean> {
  for (let round = 0; round < 100; round++) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

describe("bytes held until garbage collection", () => {
  it("makes new work wait for a dead buffer's bytes, asks for a collection, then runs it", async () => {
    const { budget, collections } = countingBudget({ maxBytes: 100, maxQueued: 10, maxWaitMs: 10_000 });
    const running = await budget.acquire(30, "running");
    (() => {
      // Unreachable once this function returns, like a decoder's buffer once the job is done.
      budget.holdUntilCollected(new ArrayBuffer(8), 60);
    })();
    const waiting = tracked(budget.acquire(20, "waiting"));
    await Promise.resolve();
    // 30 running + 60 awaiting GC + 20 > 100: it waits (before, the 60 were not counted and it ran).
    expect(waiting.started).toBe(false);
    expect(budget.stats().awaitingGcBytes).toBe(60);
    // Nothing else happens: the budget's own request for a collection is what lets it start.
    expect(await until(() => waiting.started)).toBe(true);
    expect(collections()).toBeGreaterThan(0);
    expect(budget.stats().awaitingGcBytes).toBe(0);
    (await waiting.release)();
    running();
  });

  it("asks for no collection when the waiting job waits for a large-job slot, not for the garbage", async () => {
    // Under the load bench a large zoom always waited for the one large slot while evicted pixels awaited the
    // GC: the budget forced a full collection (~58 ms) every 100 ms, 36 % of the event loop, for nothing.
    const { budget, collections } = countingBudget({
      maxBytes: 1000,
      largeJobBytes: 100,
      maxLargeJobs: 1,
      smallLaneBytes: 0,
      maxQueued: 10,
      maxWaitMs: 10_000,
    });
    const garbage = new ArrayBuffer(8);
    budget.holdUntilCollected(garbage, 100);
    const large = await budget.acquire(200, "large running");
    const waiting = tracked(budget.acquire(200, "large waiting"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // 200 + 100 + 200 fit the 1000: only the slot holds it back, so no collection was asked for.
    expect(waiting.started).toBe(false);
    expect(collections()).toBe(0);
    large();
    (await waiting.release)();
    expect(garbage.byteLength).toBe(8);
  });

  it("paces forced collections by what they cost: ten times the last one's time between them", async () => {
    // A collection that takes 30 ms (the buffer below stays reachable, so the waiter never fits).
    const { budget, collections } = countingBudget({ maxBytes: 1000, maxQueued: 10, maxWaitMs: 10_000 }, () => {
      const until = performance.now() + 30;
      while (performance.now() < until) {}
    });
    const running = await budget.acquire(400, "running");
    const garbage = new ArrayBuffer(8);
    // A fifth of the budget: over it, or over half, the budget would not wait for waiting work to ask.
    budget.holdUntilCollected(garbage, 200);
    const waiting = budget.acquire(500, "waiting").catch(() => undefined);
    const stopAt = performance.now() + 650;
    await smallJobsComeAndGo(budget, () => performance.now() >= stopAt);
    // At 100 ms apart this would be 6 or 7; 300 ms apart (10 × 30 ms) it is at most 3.
    expect(collections()).toBeGreaterThanOrEqual(1);
    expect(collections()).toBeLessThanOrEqual(3);
    expect(budget.stats().forcedGcs).toBe(collections());
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

describe("garbage past the budget", () => {
  it("asks for a collection when garbage holds over a quarter of the budget, with nothing waiting", async () => {
    const { budget, collections } = countingBudget({ maxBytes: 1000 });
    (() => {
      // An 8192² decode into a full store: its own buffer and what it evicted, garbage at once.
      budget.holdUntilCollected(new ArrayBuffer(8), 300);
    })();
    expect(await until(() => budget.stats().awaitingGcBytes === 0)).toBe(true);
    expect(collections()).toBeGreaterThan(0);
  });

  it("does not collect again and again for garbage that is still alive (an evicted image being encoded)", async () => {
    const { budget, collections } = countingBudget({ maxBytes: 1000 });
    const alive = new ArrayBuffer(8);
    budget.holdUntilCollected(alive, 600);
    await smallJobsComeAndGo(budget, (round) => round === 30);
    // One collection for the 600 that arrived; none more, though they are still counted (nothing new came).
    expect(collections()).toBe(1);
    expect(budget.stats().awaitingGcBytes).toBe(600);
    expect(alive.byteLength).toBe(8);
  });

  it("does not start a job on top of garbage past the budget, even with nothing else running", async () => {
    const budget = new WorkBudget({ maxBytes: 100, maxQueued: 10, maxWaitMs: 10_000, collectGarbage: gc });
    let garbage: ArrayBuffer | undefined = new ArrayBuffer(8);
    budget.holdUntilCollected(garbage, 80);
    const waiting = tracked(budget.acquire(50, "lone job"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // 80 of garbage + 50 > 100: before, a lone job always started, and RSS went past the budget.
    expect(waiting.started).toBe(false);
    garbage = undefined;
    expect(await until(() => waiting.started)).toBe(true);
    (await waiting.release)();
    expect(garbage).toBeUndefined();
  });

  it("still starts a lone job beside a little garbage (evicted small results a busy server never clears)", async () => {
    const budget = new WorkBudget({ maxBytes: 100, maxQueued: 10, maxWaitMs: 10_000, collectGarbage: gc });
    const garbage = new ArrayBuffer(8);
    budget.holdUntilCollected(garbage, 10);
    // 10 + 95 is over the budget, but 10 is under a quarter of it: the job does not wait for a collection.
    const release = await budget.acquire(95, "lone decode");
    expect(budget.stats().runningJobs).toBe(1);
    release();
    expect(garbage.byteLength).toBe(8);
  });

  it("makes a decode's room in the store before the decode runs, so what that evicts is collected first", async () => {
    const work = new WorkBudget({ maxBytes: 64 * 1024 * 1024, collectGarbage: gc });
    const pixels = 400 * 300 * 3;
    // Room for two such images: the third decode has to evict the first.
    const store = new ImageStore({ work, maxStoreBytes: pixels * 2.5 });
    const image = (shade: number) =>
      sharp({ create: { width: 400, height: 300, channels: 3, background: { r: shade, g: 0, b: 0 } } })
        .png()
        .toBuffer();
    await store.ingest(await image(1), { pin: false });
    await store.ingest(await image(2), { pin: false });
    gc();
    expect(await until(() => work.stats().awaitingGcBytes === 0)).toBe(true);
    const atDecode: { withPixels: number; awaitingGc: number }[] = [];
    const run = work.run.bind(work);
    work.run = (bytes, what, job, signal) => {
      if (what.startsWith("Decoding")) {
        atDecode.push({ withPixels: store.stats().withPixels, awaitingGc: work.stats().awaitingGcBytes });
      }
      return run(bytes, what, job, signal);
    };
    await store.ingest(await image(3), { pin: false });
    // Before: the first image was evicted only after the decode, its pixels garbage beside the decode's own.
    expect(atDecode).toEqual([{ withPixels: 1, awaitingGc: pixels }]);
  });
});
