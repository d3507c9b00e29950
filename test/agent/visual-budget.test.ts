import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addImage, applyImageStates, elisionRecord, type ImageEntry } from "../../src/agent/image-index.js";
import { entryTokens, fitVisualBudget, totalVisualTokens } from "../../src/agent/visual-budget.js";
import type { Message } from "../../src/model/messages.js";
import { visualTokenCount } from "../../src/model/vision.js";

const limits = { minPixels: 65_536, maxPixels: 16_777_216 };
const shrinkPixels = 64 * 32 * 32;

function conversation(sizes: Array<[number, number]>, users = 1): ImageEntry[] {
  let entries: ImageEntry[] = [];
  sizes.forEach(([width, height], i) => {
    entries = addImage(entries, {
      storeId: `img-${i}`,
      width,
      height,
      origin: i < users ? "user" : "tool",
      ...(i < users ? {} : { parentIndex: 0, tool: "image_zoom_in_tool", bbox: [0, 0, 500, 500], label: `crop${i}` }),
    }).entries;
  });
  return entries;
}

describe("visual-token budget", () => {
  it("counts with the model's resize rule, not by image count", () => {
    const entries = conversation([[1040, 720]]);
    // 720×1040 → 704×1024 (spec §2.1 golden row) → 704 tokens.
    expect(totalVisualTokens(entries, limits, visualTokenCount)).toBe(704);
  });

  it("shrinks older crops first and stops as soon as it fits", () => {
    // User 1200×800 = 950 tokens; three 1024×1024 crops = 1024 tokens each.
    const entries = conversation([
      [1200, 800],
      [1024, 1024],
      [1024, 1024],
      [1024, 1024],
    ]);
    const fitted = fitVisualBudget(entries, 950 + 64 + 1024 + 1024, limits, visualTokenCount, shrinkPixels);
    expect(fitted.entries.map((entry) => entry.state)).toEqual(["full", "shrunk", "full", "full"]);
    expect(fitted.changes).toEqual([
      { index: 1, action: "shrunk", record: elisionRecord(fitted.entries[1]), tokensBefore: 1024, tokensAfter: 64 },
    ]);
    expect(fitted.total).toBe(950 + 64 + 2048);
  });

  it("drops the oldest crops when shrinking is not enough; the user image and the newest crop stay", () => {
    const entries = conversation([
      [1200, 800],
      [1024, 1024],
      [1024, 1024],
      [1024, 1024],
    ]);
    const fitted = fitVisualBudget(entries, 950 + 1024 + 10, limits, visualTokenCount, shrinkPixels);
    expect(fitted.entries.map((entry) => entry.state)).toEqual(["full", "elided", "elided", "full"]);
    expect(fitted.total).toBe(950 + 1024);
  });

  it("writes the one-line record the model sees in place of an elided crop", () => {
    const entries = conversation([
      [1200, 800],
      [1024, 1024],
    ]);
    const [user, crop] = entries;
    expect(elisionRecord(crop)).toBe(
      "[crop 1 of image 0 at [0,0,500,500], label 'crop1': elided to save space; img_idx 1 still refers to it]",
    );
    const messages: Message[] = [
      {
        role: "user",
        content: [
          { type: "image", image: user.storeId },
          { type: "text", text: "q" },
        ],
      },
      {
        role: "tool",
        content: [
          { type: "image", image: crop.storeId },
          { type: "text", text: "zoomed" },
        ],
      },
    ];
    const seen = applyImageStates(messages, [user, { ...crop, state: "elided" }]);
    expect(seen[0]).toBe(messages[0]);
    expect(seen[1].content).toEqual([
      { type: "text", text: elisionRecord(crop) },
      { type: "text", text: "zoomed" },
    ]);
    const shrunk = applyImageStates(messages, [user, { ...crop, state: "shrunk", maxPixels: shrinkPixels }]);
    expect(shrunk[1].content).toEqual([
      { type: "image", image: crop.storeId, maxPixels: shrinkPixels },
      { type: "text", text: "zoomed" },
    ]);
  });

  it("never touches user images, keeps indices, and fits whenever fitting is possible (property)", () => {
    const size = fc.tuple(fc.integer({ min: 64, max: 4000 }), fc.integer({ min: 64, max: 4000 }));
    fc.assert(
      fc.property(
        fc.array(size, { minLength: 1, maxLength: 3 }),
        fc.array(size, { minLength: 0, maxLength: 8 }),
        fc.integer({ min: 0, max: 60_000 }),
        (users, crops, limit) => {
          fc.pre(users.every(([w, h]) => Math.max(w, h) / Math.min(w, h) < 50));
          fc.pre(crops.every(([w, h]) => Math.max(w, h) / Math.min(w, h) < 50));
          const entries = conversation([...users, ...crops], users.length);
          const fitted = fitVisualBudget(entries, limit, limits, visualTokenCount, shrinkPixels);
          expect(fitted.entries.map((entry) => entry.index)).toEqual(entries.map((entry) => entry.index));
          for (const entry of fitted.entries.slice(0, users.length)) expect(entry.state).toBe("full");
          const floor =
            totalVisualTokens(entries.slice(0, users.length), limits, visualTokenCount) +
            (crops.length > 0
              ? entryTokens(
                  { ...entries[entries.length - 1], state: "shrunk", maxPixels: shrinkPixels },
                  limits,
                  visualTokenCount,
                )
              : 0);
          if (limit >= floor) expect(fitted.total).toBeLessThanOrEqual(limit);
          // Nothing is elided or shrunk without need.
          if (totalVisualTokens(entries, limits, visualTokenCount) <= limit) expect(fitted.changes).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
