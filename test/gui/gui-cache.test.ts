import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gui, pageScreen, type Screen } from "../../src/gui/index.js";
import { hasChromium, launchChromium, noteMissingChromium } from "./browser.js";
import { fakeGuiModel } from "./fake-model.js";
import { testPageHtml } from "./test-page.js";

noteMissingChromium();

async function clickedIds(page: Page): Promise<(string | null)[]> {
  return ((await page.evaluate("window.__clicks")) as { id: string | null }[]).map((c) => c.id);
}

/** The page as a plain Screen: pixels and a pointer, no document (what a desktop driver gives). */
function pixelsOnly(page: Page): Screen {
  const full = pageScreen(page);
  return { screenshot: full.screenshot, size: full.size, click: full.click, type: full.type };
}

// The cache replays only what it has checked again: a selector that still names the same thing, or pixels
// that still look the same; anything else is located afresh.
describe.skipIf(!hasChromium)("gui target cache on a real page", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(html = testPageHtml()): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 900, height: 560 }, deviceScaleFactor: 2 });
    const page = await context.newPage();
    await page.setContent(html);
    return { context, page };
  }

  it("replays a model-located target without calling the model", async () => {
    const cache = join(mkdtempSync(join(tmpdir(), "squint-gui-cache-")), "targets.json");
    const { context, page } = await open();
    try {
      const first = fakeGuiModel();
      const recorded = await gui(page, { model: first, cache, settleMs: 0 }).click("the settings gear icon");
      expect(recorded.cache).toBe("miss");
      expect(first.requests.length).toBeGreaterThan(0);
      const saved = JSON.parse(readFileSync(cache, "utf8")) as { entries: { element?: { name: string } }[] };
      expect(saved.entries[0]!.element?.name).toBe("Settings");

      const second = fakeGuiModel();
      const ui = gui(page, { model: second, cache, settleMs: 0 });
      const replayed = await ui.click("the settings gear icon");
      expect(replayed.cache).toBe("hit");
      expect(replayed.method).toBe("cache");
      expect(second.requests.length).toBe(0);
      expect(ui.stats.modelCalls).toBe(0);
      expect(ui.stats.cache).toMatchObject({ hits: 1, misses: 0, stale: 0 });
      expect(await clickedIds(page)).toEqual(["settings", "settings"]);
    } finally {
      await context.close();
    }
  });

  it("detects a stale selector after the page changed, locates again and clicks the right button", async () => {
    const cache = join(mkdtempSync(join(tmpdir(), "squint-gui-cache-")), "targets.json");
    const { context, page } = await open();
    try {
      await gui(page, { cache, settleMs: 0 }).click('"Save"');
      // Same URL, new page: #b1 is now Delete, and Save moved to #b3.
      await page.setContent(testPageHtml({ changed: true }));
      const ui = gui(page, { cache, settleMs: 0 });
      const result = await ui.click('"Save"');
      expect(result.cache).toBe("stale");
      expect(result.method).toBe("ocr");
      const staleCheck = result.checks.find((c) => c.name === "cache")!;
      expect(staleCheck.ok).toBe(false);
      expect(staleCheck.detail).toContain("#b1");
      expect(staleCheck.detail).toContain("Delete");
      expect(result.hit?.target.selector).toBe("#b3");
      // Never clicked blindly: the page saw exactly one click on this page, on Save.
      expect(await clickedIds(page)).toEqual(["save"]);
      expect(ui.stats.cache).toMatchObject({ hits: 0, stale: 1 });
      // The entry was rewritten: the next run replays #b3.
      const again = await gui(page, { cache, settleMs: 0 }).click('"Save"');
      expect(again.checks.find((c) => c.name === "cache")?.detail).toContain("#b3");
      expect(again.cache).toBe("hit");
      expect(again.hit?.target.selector).toBe("#b3");
      expect(await clickedIds(page)).toEqual(["save", "save"]);
    } finally {
      await context.close();
    }
  });

  it("on a screen without a document, replays by pixels and notices when they changed", async () => {
    const cache = join(mkdtempSync(join(tmpdir(), "squint-gui-cache-")), "targets.json");
    const { context, page } = await open();
    try {
      const screen = pixelsOnly(page);
      const first = await gui(screen, { cache, settleMs: 0 }).click('"Delete"');
      expect(first.cache).toBe("miss");
      expect(first.verified).toBe(false);

      const replay = gui(screen, { cache, settleMs: 0 });
      const hit = await replay.click('"Delete"');
      expect(hit.cache).toBe("hit");
      expect(replay.stats.ocrReads).toBe(0);
      expect(await clickedIds(page)).toEqual(["delete", "delete"]);

      await page.setContent(testPageHtml({ changed: true }));
      const changed = gui(screen, { cache, settleMs: 0 });
      const relocated = await changed.click('"Delete"');
      expect(relocated.cache).toBe("stale");
      expect(relocated.checks.find((c) => c.name === "cache")?.detail).toContain("pixels");
      expect(changed.stats.ocrReads).toBe(1);
      expect(await clickedIds(page)).toEqual(["delete"]);
    } finally {
      await context.close();
    }
  });
});
