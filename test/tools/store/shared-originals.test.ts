import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ImageStore } from "../../../src/tools/store/image-store.js";
import { SharedOriginals } from "../../../src/tools/store/shared-originals.js";
import { WorkBudget } from "../../../src/tools/store/work-budget.js";

/**
 * Issue 10, load bench: every HTTP session decoded its own copy of the same photo, so 50 sessions held 50
 * copies (more than the store budget) and evicted and re-decoded each other's. Stores that share a
 * SharedOriginals decode the same bytes once, count them once, and one store letting go never frees the
 * pixels another still refers to.
 */
async function png(width: number, height: number, colour: string): Promise<Uint8Array> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

const MIB = 1024 * 1024;

function twoStores(maxBytes = 64 * MIB) {
  const originals = new SharedOriginals(maxBytes);
  const work = new WorkBudget({ maxBytes: 256 * MIB });
  const make = () => new ImageStore({ originals, work, ids: "random" });
  return { originals, a: make(), b: make() };
}

describe("shared decoded originals", () => {
  it("decodes the same bytes once for two stores and counts the pixels once", async () => {
    const { originals, a, b } = twoStores();
    const bytes = await png(300, 200, "#336699");
    const [inA, inB] = await Promise.all([a.ingest(bytes, { pin: false }), b.ingest(bytes, { pin: false })]);
    // One buffer, not two copies.
    expect(a.pixels(inA.id).data).toBe(b.pixels(inB.id).data);
    expect(originals.memory.usedBytes).toBe(300 * 200 * 3);
    expect(originals.size).toBe(1);
    // Ids stay per store: neither store knows the other's id.
    expect(inA.id).not.toBe(inB.id);
    expect(a.has(inB.id)).toBe(false);
    expect(b.has(inA.id)).toBe(false);
  });

  it("keeps the pixels for a store that still refers to them when another store is disposed", async () => {
    const { originals, a, b } = twoStores();
    const bytes = await png(120, 80, "#aa2200");
    const inA = await a.ingest(bytes, { pin: false });
    await b.ingest(bytes, { pin: false });
    b.dispose();
    expect(a.pixels(inA.id).data.byteLength).toBe(120 * 80 * 3);
    expect(originals.memory.usedBytes).toBe(120 * 80 * 3);
    a.dispose();
    expect(originals.memory.usedBytes).toBe(0);
    expect(originals.size).toBe(0);
  });

  it("keeps another store's pinned original when a third image needs room", async () => {
    // Room for two 100×100 images: a's pin must hold even though b only cached it unpinned.
    const { originals, a, b } = twoStores(2 * 100 * 100 * 3);
    const shared = await png(100, 100, "#00ff00");
    const inA = await a.ingest(shared, { pin: true });
    await b.ingest(shared, { pin: false });
    await b.ingest(await png(100, 100, "#0000ff"), { pin: false });
    await b.ingest(await png(100, 100, "#ff0000"), { pin: false });
    expect(a.pixels(inA.id).data.byteLength).toBe(100 * 100 * 3);
    expect(originals.memory.usedBytes).toBeLessThanOrEqual(2 * 100 * 100 * 3);
    // Releasing a's pin lets the shared original go like any unpinned image.
    a.release(inA.id);
    await b.ingest(await png(100, 100, "#ffff00"), { pin: false });
    await b.ingest(await png(100, 100, "#00ffff"), { pin: false });
    expect(() => a.pixels(inA.id)).toThrow(/evicted/);
  });

  it("decodes an evicted shared original again for the store that asks", async () => {
    const { a, b } = twoStores(100 * 100 * 3);
    const first = await png(100, 100, "#123456");
    const inA = await a.ingest(first, { pin: false });
    await b.ingest(await png(100, 100, "#654321"), { pin: false });
    expect(() => a.pixels(inA.id)).toThrow(/evicted/);
    const again = await a.ingest(first, { pin: false });
    expect(again.id).toBe(inA.id);
    expect(a.pixels(inA.id).data[0]).toBe(0x12);
  });
});
