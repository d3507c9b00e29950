import { describe, expect, it } from "vitest";
import { resizeBicubicSync } from "../../src/model/vision.js";
import { ResizePool } from "../../src/tools/store/resize-pool.js";
import { defaultLargeJobs, WorkBudget } from "../../src/tools/store/work-budget.js";
import { gradient } from "../tools/images.js";

/**
 * Issue 10, load bench: a small zoom (the model's usual call) waited seconds behind full-photo zooms — p99 25 s
 * with 10 of 50 clients zooming near-full boxes — because large jobs could take the whole work budget and the
 * only resize thread. Now large jobs have a lane of their own (a count, and bytes that leave the small lane
 * free), and the resize pool has separate threads per lane.
 */
describe("work lanes", () => {
  const lanes = {
    maxBytes: 100,
    maxQueued: 10,
    maxWaitMs: 10_000,
    largeJobBytes: 10,
    maxLargeJobs: 2,
    smallLaneBytes: 20,
  };

  it("starts a small job at once while large jobs fill the large lane", async () => {
    const budget = new WorkBudget(lanes);
    const first = await budget.acquire(50, "large 1");
    // 50 + 45 fits the whole budget but not the large lane (100 − 20): it waits, in the queue.
    let secondStarted = false;
    const second = budget.acquire(45, "large 2").then((release) => {
      secondStarted = true;
      return release;
    });
    // Before lanes this small job waited too (95 + 10 > 100); now the small lane's room is kept for it.
    const small = await budget.acquire(10, "small");
    expect(secondStarted).toBe(false);
    expect(budget.stats()).toMatchObject({ runningLargeJobs: 1, queuedJobs: 1 });
    small();
    first();
    // The large job that waited was not refused: it runs once the lane has room.
    (await second)();
    expect(budget.stats()).toMatchObject({ runningJobs: 0, runningBytes: 0, queuedJobs: 0, refused: 0 });
  });

  it("runs at most maxLargeJobs large jobs at once, the next one waiting rather than BUSY", async () => {
    const budget = new WorkBudget(lanes);
    const a = await budget.acquire(15, "large a");
    const b = await budget.acquire(15, "large b");
    let thirdStarted = false;
    const third = budget.acquire(15, "large c").then((release) => {
      thirdStarted = true;
      return release;
    });
    const small = await budget.acquire(5, "small");
    await Promise.resolve();
    expect(thirdStarted).toBe(false);
    a();
    (await third)();
    b();
    small();
    expect(budget.stats().refused).toBe(0);
  });

  it("lets a lone large job bigger than the large lane run when it fits the whole budget", async () => {
    const budget = new WorkBudget(lanes);
    const release = await budget.acquire(95, "lone large");
    expect(budget.stats().runningLargeJobs).toBe(1);
    release();
  });

  it("classifies jobs by bytes", () => {
    const budget = new WorkBudget(lanes);
    expect(budget.laneOf(10)).toBe("small");
    expect(budget.laneOf(11)).toBe("large");
  });

  it("refuses a lane configuration that cannot work", () => {
    expect(() => new WorkBudget({ ...lanes, maxLargeJobs: 0 })).toThrow(/maxLargeJobs/);
    expect(() => new ResizePool({ smallThreads: 0 })).toThrow(/smallThreads/);
    expect(() => new ResizePool({ largeNice: 40 })).toThrow(/0–19/);
  });
});

describe("resize pool lanes", () => {
  it("finishes a small resize while the large lane is still busy", async () => {
    const pool = new ResizePool({ smallThreads: 1, largeThreads: 1, largeNice: 0 });
    try {
      const big = gradient(3000, 3000);
      let largeDone = 0;
      const large = [1, 2].map((i) =>
        pool.resize(big, 2900 + i * 32, 2900 + i * 32, { lane: "large" }).then((out) => {
          largeDone++;
          return out;
        }),
      );
      const source = gradient(64, 48);
      const small = await pool.resize(source, 128, 96, { rect: { left: 0, top: 0, width: 64, height: 48 } });
      // The small one came back while the large lane's one thread still had work queued (the threads start
      // together; the large one then has two long resizes to do, the small one a tiny one).
      expect(largeDone).toBeLessThan(2);
      expect(pool.pending("large")).toBeGreaterThan(0);
      expect(small.data).toEqual(resizeBicubicSync(source, 128, 96).data);
      await Promise.all(large);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it("crops shared pixels in the thread without detaching them, exactly as crop-then-resize", async () => {
    const pool = new ResizePool({ smallThreads: 1, largeThreads: 1, largeNice: 0 });
    try {
      const plain = gradient(200, 150);
      const data = new Uint8Array(new SharedArrayBuffer(plain.data.byteLength));
      data.set(plain.data);
      const shared = { width: 200, height: 150, data };
      const rect = { left: 30, top: 20, width: 50, height: 40 };
      const out = await pool.resize(shared, 100, 80, { rect });
      const expected = new Uint8Array(rect.width * rect.height * 3);
      for (let y = 0; y < rect.height; y++) {
        const start = ((rect.top + y) * 200 + rect.left) * 3;
        expected.set(plain.data.subarray(start, start + rect.width * 3), y * rect.width * 3);
      }
      expect(out.data).toEqual(resizeBicubicSync({ width: 50, height: 40, data: expected }, 100, 80).data);
      // Still readable here: shared, not moved.
      expect(shared.data.byteLength).toBe(200 * 150 * 3);
    } finally {
      await pool.close();
    }
  }, 60_000);
});

describe("default large jobs", () => {
  it("is half the cores, at least one (one on a 2-core machine, where two cost the small zooms' p99)", () => {
    expect([1, 2, 3, 4, 8, 16].map((cores) => defaultLargeJobs(cores))).toEqual([1, 1, 1, 2, 4, 8]);
  });
});

describe("work that finishes a call goes ahead", () => {
  it("starts a result's encode before new calls' large jobs that waited longer, in its own arrival order", async () => {
    // Load bench: each near-full zoom's encode (a large job) queued behind the nine new near-full zooms
    // waiting for the one large slot; all ten results were held ~30 s and answered together at the end.
    const budget = new WorkBudget({ maxBytes: 1000, largeJobBytes: 10, maxLargeJobs: 1, smallLaneBytes: 0 });
    const order: string[] = [];
    const queue = (name: string, ahead: boolean) =>
      budget.acquire(100, name, undefined, { ahead }).then((release) => {
        order.push(name);
        release();
      });
    const running = await budget.acquire(100, "zoom 1");
    const waiting = [
      queue("zoom 2", false),
      queue("zoom 3", false),
      queue("encode of zoom 0", true),
      queue("encode of zoom 1", true),
    ];
    running();
    await Promise.all(waiting);
    expect(order).toEqual(["encode of zoom 0", "encode of zoom 1", "zoom 2", "zoom 3"]);
  });
});
