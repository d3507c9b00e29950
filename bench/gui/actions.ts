/**
 * Time per GUI action: Squint's own steps (screenshot + decode, locate by OCR, a verified click, a click that
 * also checks the screen changed, a whole `ui.click('"Save"')`, and a cached replay) next to Playwright's bare
 * `page.screenshot()` and `page.click(selector)` on the same page in the same run, interleaved round by round
 * so a busy machine slows both alike. Real Chromium (the system's), local page (page.setContent), no model.
 *
 *   node --import tsx bench/gui/actions.ts        (or: npm run bench gui)
 *   BENCH_ROUNDS=5 BENCH_DPR=1,2 …
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { capture } from "../../src/gui/capture.js";
import { gui, pageScreen } from "../../src/gui/index.js";
import { closeDefaultOcrEngine } from "../../src/tools/ocr/index.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { GUI_CHROMIUM_ARGS } from "../../test/gui/browser.js";
import { CHROMIUM } from "../../test/support/chromium.js";
import { testPageHtml } from "../../test/gui/test-page.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DPRS = (process.env.BENCH_DPR ?? "1,2").split(",").map(Number);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

type Op = { name: string; run: (page: Page) => Promise<unknown> };

async function main(): Promise<void> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: GUI_CHROMIUM_ARGS });
  const cacheDir = mkdtempSync(join(tmpdir(), "squint-bench-gui-"));
  const rows: string[] = [];
  try {
    for (const dpr of DPRS) {
      const context = await browser.newContext({ viewport: { width: 900, height: 560 }, deviceScaleFactor: dpr });
      const page = await context.newPage();
      await page.setContent(testPageHtml());
      const cache = join(cacheDir, `dpr${dpr}.json`);
      // Warm up: OCR models loaded, the cache entry recorded, the page's first paint done.
      await gui(page, { settleMs: 0, cache }).click('"Save"');
      const located = await gui(page, { settleMs: 0 }).locate('"Save"');
      const ops: Op[] = [
        { name: "Playwright page.screenshot()", run: (p) => p.screenshot() },
        { name: "Playwright page.click('#b1')", run: (p) => p.click("#b1") },
        { name: "squint screenshot + decode + scale", run: (p) => capture(pageScreen(p), new ImageStore()) },
        // A new gui each round: its OCR memo is empty, so this is a real OCR read of a full screenshot.
        { name: "squint locate by OCR", run: (p) => gui(p, { settleMs: 0 }).locate('"Save"') },
        {
          name: "squint locate by OCR, ocrMaxScale 1",
          run: (p) => gui(p, { settleMs: 0, ocrMaxScale: 1 }).locate('"Save"'),
        },
        { name: "squint click, element verified", run: (p) => gui(p, { settleMs: 0 }).click(located) },
        {
          name: "squint click, element + change verified",
          run: (p) =>
            gui(p, { settleMs: 0 })
              .click(located, { expectChange: true, verify: true })
              .catch(() => undefined),
        },
        { name: "squint ui.click('\"Save\"') end to end", run: (p) => gui(p, { settleMs: 0 }).click('"Save"') },
        {
          name: "squint ui.click cached (selector checked)",
          run: (p) => gui(p, { settleMs: 0, cache }).click('"Save"'),
        },
      ];
      const times = new Map<string, number[]>(ops.map((op) => [op.name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const op of ops) times.get(op.name)!.push(await timed(() => op.run(page)));
      }
      const shot = median(times.get(ops[0]!.name)!);
      const click = median(times.get(ops[1]!.name)!);
      for (const op of ops) {
        const ms = median(times.get(op.name)!);
        rows.push(
          `| ${dpr} | ${op.name} | ${ms.toFixed(1)} | ${(ms / click).toFixed(2)} | ${(ms / shot).toFixed(2)} |`,
        );
      }
      await context.close();
    }
  } finally {
    await browser.close();
    await closeDefaultOcrEngine();
    rmSync(cacheDir, { recursive: true, force: true });
  }
  console.log(`900×560 CSS px test page, ${ROUNDS} rounds interleaved, median wall time.\n`);
  console.log("| DPR | action | ms | × page.click | × page.screenshot |");
  console.log("|---|---|---|---|---|");
  for (const row of rows) console.log(row);
}

await main();
