import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SquintError } from "../../src/errors.js";
import { gui } from "../../src/gui/index.js";
import { hasChromium, launchChromium, noteMissingChromium } from "./browser.js";
import { testPageHtml } from "./test-page.js";

noteMissingChromium();

interface Click {
  id: string | null;
  x: number;
  y: number;
}

async function clicks(page: Page): Promise<Click[]> {
  return (await page.evaluate("window.__clicks")) as Click[];
}

// Real Chromium, the OCR path (no model): the page's own listener says which element each click reached.
describe.skipIf(!hasChromium)("gui on a real page, text targets by OCR", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(deviceScaleFactor: number, zoom = 1): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 900, height: 560 }, deviceScaleFactor });
    const page = await context.newPage();
    await page.setContent(testPageHtml({ zoom }));
    return { context, page };
  }

  const cases: { dpr: number; zoom: number; targets: string[]; ocrMaxScale?: number }[] = [
    { dpr: 1, zoom: 1, targets: ["Save", "Delete"] },
    { dpr: 2, zoom: 1, targets: ["Save draft"] },
    { dpr: 3, zoom: 1, targets: ["Save", "Send"] },
    { dpr: 2, zoom: 1.5, targets: ["Delete"] },
    { dpr: 1, zoom: 0.8, targets: ["Save draft"] },
    // OCR reads a copy at 1 px per CSS px; boxes map back through its lineage to the DPR-3 screenshot.
    { dpr: 3, zoom: 1, targets: ["Save draft"], ocrMaxScale: 1 },
  ];

  for (const { dpr, zoom, targets, ocrMaxScale } of cases) {
    const reading = ocrMaxScale ? `, OCR at scale ${ocrMaxScale}` : "";
    it(`clicks text buttons where the page says at devicePixelRatio ${dpr}, page zoom ${zoom}${reading}`, async () => {
      const { context, page } = await open(dpr, zoom);
      try {
        const ui = gui(page, { settleMs: 0, ...(ocrMaxScale ? { ocrMaxScale } : {}) });
        for (const text of targets) {
          const before = (await clicks(page)).length;
          const result = await ui.click(`"${text}"`);
          const recorded = (await clicks(page)).slice(before);
          expect(
            recorded.map((c) => c.id),
            text,
          ).toEqual([text.toLowerCase().replace(" ", "-")]);
          // The scale was measured from the screenshot, and the page saw the click where we said we clicked.
          expect(result.scale).toBeCloseTo(dpr, 5);
          expect(Math.abs(recorded[0]!.x - result.point![0])).toBeLessThanOrEqual(1);
          expect(Math.abs(recorded[0]!.y - result.point![1])).toBeLessThanOrEqual(1);
          expect(result.verified).toBe(true);
          expect(result.hit?.target.tag).toBe("button");
          expect(result.hit?.target.name).toBe(text);
          expect(result.method).toBe("ocr");
        }
      } finally {
        await context.close();
      }
    });
  }

  it("opens the menu and picks an item", async () => {
    const { context, page } = await open(1);
    try {
      const ui = gui(page, { settleMs: 50 });
      await ui.click('"Menu"');
      const item = await ui.click('"Archive"');
      expect((await clicks(page)).map((c) => c.id)).toEqual(["menu", "archive"]);
      expect(item.hit?.target.role).toBe("menuitem");
      expect(item.hit?.target.name).toBe("Archive");
    } finally {
      await context.close();
    }
  });

  it("says found: false for text that is not there, and a click on it is NOT_FOUND without clicking", async () => {
    const { context, page } = await open(1);
    try {
      const ui = gui(page, { settleMs: 0 });
      const located = await ui.locate('"Publish"');
      expect(located.found).toBe(false);
      const error = await ui.click(located).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SquintError);
      expect((error as SquintError).code).toBe("NOT_FOUND");
      expect(await clicks(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("refuses to click when the element under the point is not the one located", async () => {
    const { context, page } = await open(1);
    try {
      const ui = gui(page, { settleMs: 0 });
      const located = await ui.locate('"Save draft"');
      expect(located.verified).toBe(true);
      // The page moves its toolbar after we looked: acting on the old box would hit something else.
      await page.evaluate("document.getElementById('b2').style.marginLeft = '300px'");
      const error = (await ui.click(located).catch((e: unknown) => e)) as SquintError;
      expect(error).toBeInstanceOf(SquintError);
      expect(error.code).toBe("ACTION_NOT_VERIFIED");
      expect(error.details?.traceStep).toBe(1);
      expect(await clicks(page)).toEqual([]);
      expect(ui.trace.steps.at(-1)?.ok).toBe(false);
      expect(ui.trace.steps.at(-1)?.before?.bytes.length).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });

  it("hovers, types and presses Enter, and scrolls, each checked", async () => {
    const { context, page } = await open(1);
    try {
      const ui = gui(page, { settleMs: 50 });
      const hovered = await ui.hover('"Delete"');
      expect(hovered.hit?.target.name).toBe("Delete");
      expect(await page.evaluate("window.__hovered.at(-1)")).toBe("delete");
      expect(await clicks(page)).toEqual([]);

      const typed = await ui.type('"Full name"', "Grace Hopper");
      expect(typed.checks.find((c) => c.name === "changed")?.ok).toBe(true);
      await ui.press("Enter");
      expect(await page.evaluate("window.__submitted")).toEqual({ name: "Grace Hopper", email: "" });

      const scrolled = await ui.scroll(undefined, { dy: 300 });
      expect(scrolled.checks.find((c) => c.name === "changed")?.ok).toBe(true);
      expect(await page.evaluate("window.scrollY")).toBe(300);
      // At the bottom nothing moves any more: a scroll that was expected to change the screen fails its check.
      await page.evaluate("window.scrollTo(0, document.body.scrollHeight)");
      const stuck = (await ui.scroll(undefined, { dy: 300 }).catch((e: unknown) => e)) as SquintError;
      expect(stuck).toBeInstanceOf(SquintError);
      expect(stuck.code).toBe("ACTION_NOT_VERIFIED");
      expect(ui.trace.steps.at(-1)?.after).toBeDefined();
    } finally {
      await context.close();
    }
  });
});
