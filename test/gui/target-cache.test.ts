import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SquintError } from "../../src/errors.js";
import { TargetCache } from "../../src/gui/target-cache.js";

function entry(query: string, page = "http://127.0.0.1/") {
  return {
    query,
    page,
    box: { x1: 10, y1: 10, x2: 60, y2: 30 },
    viewport: { width: 800, height: 600 },
    method: "ocr" as const,
    element: { selector: "#save", name: "Save", role: "button", tag: "button" },
    look: { cols: 2, rows: 2, cells: [1, 2, 3, 4] },
  };
}

const path = () => join(mkdtempSync(join(tmpdir(), "squint-target-cache-")), "targets.json");

describe("TargetCache", () => {
  it("stores, finds by query and page (case and spacing aside), and survives a reopen", async () => {
    const file = path();
    const cache = await TargetCache.open({ path: file });
    await cache.store(entry("the  Save button"));
    const reopened = await TargetCache.open({ path: file });
    expect(reopened.lookup("the save button", "http://127.0.0.1/")?.element?.selector).toBe("#save");
    expect(reopened.lookup("the save button", "http://127.0.0.1/other")).toBeUndefined();
  });

  it("starts afresh from a file that is not a cache, and drops only the entries it cannot read", async () => {
    const broken = path();
    writeFileSync(broken, "{ not json");
    const fresh = await TargetCache.open({ path: broken });
    expect(fresh.size).toBe(0);
    expect(fresh.stats.loadProblem).toMatch(/rewritten/);
    await fresh.store(entry("Save"));
    expect(JSON.parse(readFileSync(broken, "utf8")).entries).toHaveLength(1);

    const partly = path();
    writeFileSync(
      partly,
      JSON.stringify({
        version: 1,
        entries: [{ query: "half an entry" }, { ...entry("Save"), savedAt: "t", usedAt: "t", hits: 0 }],
      }),
    );
    const kept = await TargetCache.open({ path: partly });
    expect(kept.size).toBe(1);
    expect(kept.stats.discarded).toBe(1);
  });

  it("keeps at most maxEntries, dropping the least recently used", async () => {
    const cache = await TargetCache.open({ path: path(), maxEntries: 2 });
    await cache.store(entry("a"));
    await cache.store(entry("b"));
    await cache.markHit(cache.lookup("a", "http://127.0.0.1/")!);
    await cache.store(entry("c"));
    expect(cache.lookup("a", "http://127.0.0.1/")).toBeDefined();
    expect(cache.lookup("b", "http://127.0.0.1/")).toBeUndefined();
    expect(cache.lookup("c", "http://127.0.0.1/")).toBeDefined();
  });

  it("read-only never writes; write-only never replays", async () => {
    const file = path();
    const readOnly = await TargetCache.open({ path: file, mode: "read-only" });
    await readOnly.store(entry("Save"));
    expect(() => readFileSync(file)).toThrow();
    const writeOnly = await TargetCache.open({ path: file, mode: "write-only" });
    await writeOnly.store(entry("Save"));
    expect(writeOnly.lookup("Save", "http://127.0.0.1/")).toBeUndefined();
    expect((await TargetCache.open({ path: file })).lookup("Save", "http://127.0.0.1/")).toBeDefined();
  });

  it("refuses a maxEntries that is not a positive integer", async () => {
    await expect(TargetCache.open({ path: path(), maxEntries: 0 })).rejects.toBeInstanceOf(SquintError);
  });
});
