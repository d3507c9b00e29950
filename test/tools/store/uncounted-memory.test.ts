import { describe, expect, it } from "vitest";
import { type PixelHolder, PixelMemory } from "../../../src/tools/store/pixel-memory.js";
import { uncountedMemory } from "../../../src/tools/store/uncounted-memory.js";
import { WorkBudget } from "../../../src/tools/store/work-budget.js";

/**
 * Issue 10: under the load bench RSS went ~120 MiB past store + work, memory no budget names (the resize
 * threads' garbage, the sessions' heap). The store gives that much back, so RSS − idle stays within the two.
 */
const MIB = 1024 * 1024;

function holder(bytes: number, pinned = false): PixelHolder & { dropped: boolean } {
  const h = {
    heldBytes: bytes,
    pinned,
    dropped: false,
    drop() {
      h.dropped = true;
      h.heldBytes = 0;
      return undefined;
    },
  };
  return h;
}

describe("uncountedMemory", () => {
  it("is RSS over the idle process less the store's and the work budget's bytes, never below 0", async () => {
    const memory = new PixelMemory(1000 * MIB);
    const work = new WorkBudget({ maxBytes: 500 * MIB, reservedBytes: 100 * MIB });
    let rss = 150 * MIB;
    const uncounted = uncountedMemory({ memory, work, rss: () => rss, rssReadingMs: 0 });
    memory.add(holder(300 * MIB));
    const release = await work.acquire(50 * MIB, "a zoom");
    // Counted: 300 store + 50 running + 100 reserved = 450; RSS 150 + 520 → 70 uncounted.
    rss = 150 * MIB + 520 * MIB;
    expect(uncounted()).toBe(70 * MIB);
    // Estimates over what is really held: nothing uncounted, not a negative amount.
    rss = 150 * MIB + 200 * MIB;
    expect(uncounted()).toBe(0);
    release();
  });

  it("reads RSS at most every rssReadingMs (a /proc read per eviction was 9 % of the event loop under load)", () => {
    const memory = new PixelMemory(1000 * MIB);
    const work = new WorkBudget({ maxBytes: 500 * MIB });
    let reads = 0;
    const uncounted = uncountedMemory({
      memory,
      work,
      baselineBytes: 0,
      rssReadingMs: 60_000,
      rss: () => {
        reads++;
        return 10 * MIB;
      },
    });
    for (let i = 0; i < 1000; i++) uncounted();
    expect(uncounted()).toBe(10 * MIB);
    expect(reads).toBe(1);
  });

  it("asks the store for at most half its budget (a squeezed store would re-decode forever)", () => {
    const memory = new PixelMemory(1000 * MIB);
    const work = new WorkBudget({ maxBytes: 500 * MIB });
    const uncounted = uncountedMemory({ memory, work, baselineBytes: 0, rss: () => 5000 * MIB });
    expect(uncounted()).toBe(500 * MIB);
  });
});

describe("PixelMemory under pressure", () => {
  it("evicts down to its budget less the pressure, least recently used first, never pinned pixels", () => {
    const memory = new PixelMemory(1000);
    let pressure = 0;
    memory.pressure = () => pressure;
    const pinned = holder(300, true);
    const old = holder(300);
    const recent = holder(300);
    for (const h of [pinned, old, recent]) memory.add(h);
    memory.evict();
    expect(memory.usedBytes).toBe(900);
    // 250 uncounted: keep to 750, so the least recently used unpinned one goes.
    pressure = 250;
    memory.evict();
    expect([pinned.dropped, old.dropped, recent.dropped]).toEqual([false, true, false]);
    expect(memory.usedBytes).toBe(600);
    // More pressure than evictable pixels: the pinned ones stay, and nothing is refused.
    pressure = 900;
    memory.evict();
    expect([pinned.dropped, recent.dropped]).toEqual([false, true]);
    expect(memory.usedBytes).toBe(300);
  });

  it("reserves room for pixels about to be decoded: counted and evicting from the start", () => {
    const memory = new PixelMemory(1000);
    const old = holder(600);
    memory.add(old);
    const giveBack = memory.reserve(500);
    expect(old.dropped).toBe(true);
    expect(memory.usedBytes).toBe(500);
    giveBack();
    expect(memory.usedBytes).toBe(0);
  });
});
