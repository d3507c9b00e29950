import type { Page } from "playwright-core";
import { z } from "zod";
import { SquintError } from "../errors.js";
import { ELEMENT_PROBE_SOURCE, readElementHit, readElementInfo } from "./element-probe.js";
import type { Screen } from "./screen.js";

/**
 * A Playwright page as a `Screen`. Only types come from playwright-core (an optional peer dependency): the
 * caller brings the page, so nothing here loads or launches a browser.
 *
 * The logical size is the page's own `innerWidth × innerHeight` (CSS pixels, what mouse events take), read
 * from the page each time rather than from the context's options, so a viewport the page was resized to,
 * or none at all (`viewport: null`), is measured as it is.
 */

const sizeSchema = z.object({ width: z.number().positive(), height: z.number().positive() });

export function isPlaywrightPage(value: unknown): value is Page {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.evaluate === "function" &&
    typeof candidate.screenshot === "function" &&
    typeof candidate.mouse === "object" &&
    typeof candidate.keyboard === "object"
  );
}

async function probe(page: Page, arg: { x: number; y: number } | { selector: string }): Promise<unknown> {
  return page.evaluate(`(${ELEMENT_PROBE_SOURCE})(${JSON.stringify(arg)})`);
}

export function pageScreen(page: Page): Screen {
  return {
    async screenshot() {
      // Device pixels (scale "device" is the default): the model and OCR get every pixel there is.
      return new Uint8Array(await page.screenshot({ type: "png" }));
    },
    async size() {
      const measured = sizeSchema.safeParse(
        await page.evaluate("({ width: window.innerWidth, height: window.innerHeight })"),
      );
      if (!measured.success) {
        throw new SquintError("INVALID_ARGUMENT", "The page reports no usable viewport size.", {
          hint: "Give the page a viewport (browser.newContext({ viewport: { width, height } })).",
        });
      }
      return measured.data;
    },
    async click(x, y) {
      await page.mouse.click(x, y);
    },
    async type(text) {
      await page.keyboard.type(text);
    },
    async move(x, y) {
      await page.mouse.move(x, y);
    },
    async scroll(x, y, dx, dy) {
      await page.mouse.move(x, y);
      await page.mouse.wheel(dx, dy);
    },
    async press(key) {
      await page.keyboard.press(key);
    },
    async elementAt(x, y) {
      return readElementHit(await probe(page, { x, y }));
    },
    async resolve(selector) {
      return readElementInfo(await probe(page, { selector }));
    },
    async key() {
      const url = new URL(page.url());
      url.hash = "";
      return url.href;
    },
  };
}
