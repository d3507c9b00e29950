import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { SquintError } from "../../src/errors.js";
import { gui } from "../../src/gui/index.js";
import { hasChromium, launchChromium, noteMissingChromium } from "./browser.js";
import { fakeGuiModel } from "./fake-model.js";
import { testPageHtml } from "./test-page.js";

noteMissingChromium();

async function clickedIds(page: Page): Promise<(string | null)[]> {
  return ((await page.evaluate("window.__clicks")) as { id: string | null }[]).map((c) => c.id);
}

// Real Chromium with a model whose answers come from the pixels it is shown (test/gui/fake-model.ts).
describe.skipIf(!hasChromium)("gui with a model on a real page", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(
    deviceScaleFactor: number,
    html = testPageHtml(),
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 900, height: 560 }, deviceScaleFactor });
    const page = await context.newPage();
    await page.setContent(html);
    return { context, page };
  }

  for (const dpr of [1, 2, 3]) {
    it(`clicks an icon the model points at, at devicePixelRatio ${dpr}`, async () => {
      const { context, page } = await open(dpr);
      try {
        const model = fakeGuiModel();
        const ui = gui(page, { model, settleMs: 0 });
        const result = await ui.click("the settings gear icon");
        expect(await clickedIds(page)).toEqual(["settings"]);
        expect(result.method).toBe("model");
        expect(result.verified).toBe(true);
        expect(result.hit?.target.name).toBe("Settings");
        expect(result.scale).toBeCloseTo(dpr, 5);
        // A 24-px icon on a screenshot over 1000 px wide is looked at again inside a crop (crop-then-locate).
        const expectedCalls = 900 * dpr > 1000 ? 2 : 1;
        expect(model.requests.length).toBe(expectedCalls);
        expect(ui.stats.modelCalls).toBe(expectedCalls);
      } finally {
        await context.close();
      }
    });
  }

  it("deep: false asks once even for a small target on a large screen; deep: true looks closer", async () => {
    const { context, page } = await open(2);
    try {
      const shallow = fakeGuiModel();
      const once = await gui(page, { model: shallow, settleMs: 0 }).locate("the trash icon", { deep: false });
      expect(once.found).toBe(true);
      expect(shallow.requests.length).toBe(1);
      const deep = fakeGuiModel();
      const twice = await gui(page, { model: deep, settleMs: 0 }).locate("the trash icon", { deep: true });
      expect(deep.requests.length).toBe(2);
      expect(twice.element?.name).toBe("Trash");
      expect(twice.verified).toBe(true);
    } finally {
      await context.close();
    }
  });

  it("fills and submits a form by description, then asserts what the page says", async () => {
    // DPR 1 keeps the screenshot under 1000 px wide: one model call per target (the fake reads with OCR).
    const { context, page } = await open(1);
    try {
      const ui = gui(page, { model: fakeGuiModel(), settleMs: 50 });
      const name = await ui.type("the full name field", "Ada Lovelace");
      expect(name.hit?.target.tag).toBe("input");
      expect(name.checks.find((c) => c.name === "changed")?.ok).toBe(true);
      await ui.type("the email field", "ada@example.com");
      await ui.click("the send button");
      expect(await page.evaluate("window.__submitted")).toEqual({ name: "Ada Lovelace", email: "ada@example.com" });
      const pass = await ui.assert('the page says "Thanks, Ada"');
      expect(pass.pass).toBe(true);
      expect(pass.reason).toContain("Thanks, Ada");
      const fail = await ui.assert('the page says "Payment failed"');
      expect(fail.pass).toBe(false);
      expect(fail.reason).toContain("Payment failed");
    } finally {
      await context.close();
    }
  });

  it("waits for a late message, extracts data from it, and times out on one that never comes", async () => {
    const { context, page } = await open(1);
    try {
      const ui = gui(page, { model: fakeGuiModel(), settleMs: 0 });
      await ui.click("the load report button");
      const verdict = await ui.waitFor('the page shows "Report ready"', { timeoutMs: 10_000, intervalMs: 200 });
      expect(verdict.pass).toBe(true);
      expect(await ui.query(z.object({ rows: z.number() }), "How many rows does the report have?")).toEqual({
        rows: 42,
      });
      const wrongShape = await ui.query(z.object({ total: z.number() }), "What is the total?").catch((e: unknown) => e);
      expect((wrongShape as SquintError).code).toBe("BACKEND_FAILED");
      const started = Date.now();
      const timeout = await ui
        .waitFor('the page shows "Report failed"', { timeoutMs: 300, intervalMs: 100 })
        .catch((e: unknown) => e);
      expect(timeout).toBeInstanceOf(SquintError);
      expect((timeout as SquintError).code).toBe("WAIT_TIMEOUT");
      expect((timeout as SquintError).message).toContain("Report failed");
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await context.close();
    }
  });

  it("without a model, assert, waitFor and query say that they need one", async () => {
    const { context, page } = await open(1);
    try {
      const ui = gui(page);
      for (const call of [
        () => ui.assert("anything"),
        () => ui.waitFor("anything"),
        () => ui.query(z.object({}), "anything"),
        () => ui.locate("the gear", { method: "model" }),
      ]) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SquintError);
        expect((error as SquintError).code).toBe("MODEL_REQUIRED");
      }
    } finally {
      await context.close();
    }
  });

  it("writes an HTML trace with each screenshot, the located box and the click point", async () => {
    const dir = mkdtempSync(join(tmpdir(), "squint-gui-trace-"));
    const { context, page } = await open(2);
    try {
      const ui = gui(page, { model: fakeGuiModel(), settleMs: 0, trace: dir });
      const result = await ui.click("the trash icon");
      const html = readFileSync(join(dir, "index.html"), "utf8");
      const png = readFileSync(join(dir, "step-0001.png"));
      // The PNG is the screenshot acted on: device pixels (1800 × 1120 at DPR 2).
      expect(png.readUInt32BE(16)).toBe(1800);
      expect(png.readUInt32BE(20)).toBe(1120);
      const rect = /<rect class="box" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(html)!;
      const circle = /<circle class="point" cx="([\d.]+)" cy="([\d.]+)"/.exec(html)!;
      // Drawn in screenshot pixels: the CSS box and point times the measured scale.
      expect(Number(rect[1])).toBeCloseTo(result.box![0] * 2, 0);
      expect(Number(rect[3])).toBeCloseTo((result.box![2] - result.box![0]) * 2, 0);
      expect(Number(circle[1])).toBeCloseTo(result.point![0] * 2, 0);
      expect(Number(circle[2])).toBeCloseTo(result.point![1] * 2, 0);
      expect(html).toContain("Trash");
      expect(await clickedIds(page)).toEqual(["trash"]);
    } finally {
      await context.close();
    }
  });
});
