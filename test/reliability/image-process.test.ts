import sharp from "sharp";
import { afterEach, describe, expect, it } from "vitest";
import { parseMcpArgs, storeMemory } from "../../src/cli/commands/mcp.js";
import { memoryLine } from "../../src/mcp/memory-log.js";
import { configureImageProcess } from "../../src/tools/store/image-process.js";
import { WorkBudget } from "../../src/tools/store/work-budget.js";

/**
 * Issue 10, load bench: RSS grew past the configured budget. libvips kept an operation cache (memory no
 * budget counts, never reused by a server) and ran every operation on all cores at once. `squint mcp` turns
 * the cache off and gives each operation one thread; a memory log shows RSS beside what the budgets count.
 */
const before = { concurrency: sharp.concurrency(), cache: sharp.cache().items.max };
afterEach(() => {
  sharp.concurrency(before.concurrency);
  sharp.cache({ items: before.cache });
});

describe("configureImageProcess", () => {
  it("turns libvips' operation cache off and runs each operation on one thread by default", () => {
    sharp.cache(true);
    sharp.concurrency(4);
    expect(configureImageProcess()).toEqual({ vipsCache: false, vipsThreads: 1 });
    expect(sharp.cache().items.max).toBe(0);
    expect(sharp.cache().memory.max).toBe(0);
    expect(sharp.concurrency()).toBe(1);
  });

  it("takes a thread count and refuses a nonsensical one", () => {
    expect(configureImageProcess({ vipsThreads: 2 }).vipsThreads).toBe(2);
    expect(() => configureImageProcess({ vipsThreads: 0 })).toThrow(/at least one thread/);
  });

  it("reads SQUINT_VIPS_THREADS, SQUINT_MAX_LARGE_JOBS and SQUINT_MCP_MEMORY_LOG_MS from the environment", () => {
    const args = parseMcpArgs([], {
      SQUINT_VIPS_THREADS: "3",
      SQUINT_MAX_LARGE_JOBS: "4",
      SQUINT_MCP_MEMORY_LOG_MS: "500",
    });
    expect(args).toMatchObject({ vipsThreads: 3, maxLargeJobs: 4, memoryLogMs: 500 });
    expect(parseMcpArgs(["--max-large-jobs", "1"], { SQUINT_MAX_LARGE_JOBS: "4" }).maxLargeJobs).toBe(1);
    expect(() => parseMcpArgs([], { SQUINT_MAX_LARGE_JOBS: "0" })).toThrow(/at least 1/);
  });
});

describe("memoryLine", () => {
  it("shows RSS beside the store's and the work budget's counted bytes", () => {
    const originals = storeMemory(parseMcpArgs(["--max-store-mb", "256"], {}));
    const line = memoryLine(
      { originals, work: new WorkBudget({ maxBytes: 128 * 1024 * 1024 }) },
      { rss: 300 * 1024 * 1024, heapTotal: 0, heapUsed: 20 * 1024 * 1024, external: 0, arrayBuffers: 0 },
    );
    expect(line).toMatch(/rss 300M/);
    expect(line).toMatch(/store 0M\/256M \(0 originals\)/);
    expect(line).toMatch(/work 0M\/128M \+ 0M awaiting GC \(0 running, 0 large, 0 queued, 0 refused, 0 forced GCs\)/);
  });
});
