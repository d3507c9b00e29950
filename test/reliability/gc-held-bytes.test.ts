import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { WorkBudget } from "../../src/tools/store/work-budget.js";

/**
 * Issue 10, soak bench: RSS went hundreds of MB past the budgets. One part was buffers a finished job leaves
 * to the garbage collector: a decode copies the decoder's output into shared memory, and the decoder's
 * buffer (200 MB for an 8192² photo) stayed in memory, uncounted, until the next full GC. It is now counted
 * until it is collected.
 */
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

async function collected(budget: WorkBudget): Promise<boolean> {
  for (let round = 0; round < 50; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (budget.stats().awaitingGcBytes === 0) return true;
  }
  return false;
}

describe("bytes held until garbage collection", () => {
  it("makes new work wait for a dead buffer's bytes until the GC has freed it", async () => {
    const budget = new WorkBudget({ maxBytes: 100, maxQueued: 10, maxWaitMs: 10_000 });
    let garbage: object | undefined = new ArrayBuffer(8);
    budget.holdUntilCollected(garbage, 60);
    const running = await budget.acquire(30, "running");
    let started = false;
    const waiting = budget.acquire(20, "waiting").then((release) => {
      started = true;
      return release;
    });
    await Promise.resolve();
    // 60 awaiting GC + 30 running + 20 > 100.
    expect(started).toBe(false);
    expect(budget.stats().awaitingGcBytes).toBe(60);
    garbage = undefined;
    expect(await collected(budget)).toBe(true);
    (await waiting)();
    running();
    expect(garbage).toBeUndefined();
  });

  it("counts a decode's own output buffer after the pixels were copied into shared memory", async () => {
    const work = new WorkBudget({ maxBytes: 64 * 1024 * 1024 });
    const store = new ImageStore({ work });
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#102030" } })
      .png()
      .toBuffer();
    const image = await store.ingest(png);
    // Right after the decode the decoder's buffer is unreachable but not yet freed (or just freed): never more.
    expect([0, 300 * 200 * 3]).toContain(work.stats().awaitingGcBytes);
    expect(store.pixels(image.id).data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(await collected(work)).toBe(true);
  });
});
