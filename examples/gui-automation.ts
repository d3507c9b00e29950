/**
 * Drive a web page by what it looks like: click text buttons, fill a form, replay from a checked cache, and
 * write an HTML trace. It serves its own page on 127.0.0.1 and uses the system's Chromium (never a downloaded
 * one). Without a model, targets are visible text (OCR); with SQUINT_BASE_URL (an OpenAI-compatible server with
 * Qwen3-VL) it also clicks an icon by description and asserts what the page says.
 *
 *   node --import tsx examples/gui-automation.ts [trace-dir]
 *   SQUINT_CHROMIUM=/usr/bin/chromium  SQUINT_BASE_URL=http://127.0.0.1:8000/v1  SQUINT_MODEL_NAME=…
 */
import { createServer } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { createRemoteBackend } from "squint";
import { gui } from "squint/gui";

const traceDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "squint-gui-trace-"));
const cache = join(traceDir, "targets.json");

const pageHtml = `<!doctype html><html><head><meta charset="utf-8"><title>Orders</title><style>
  body { font: 16px "DejaVu Sans", sans-serif; margin: 24px; }
  button, input { font: inherit; padding: 6px 12px; margin: 4px; }
  #menu { display: none; border: 1px solid #999; width: 160px; } #menu.open { display: block; }
  #menu div { padding: 6px 12px; }
</style></head><body>
  <button id="menu-button" onclick="document.getElementById('menu').classList.toggle('open')">Menu</button>
  <button id="settings" aria-label="Settings">⚙</button>
  <div id="menu" role="menu"><div role="menuitem">Orders</div><div role="menuitem">Archive</div></div>
  <form onsubmit="document.getElementById('done').textContent = 'Subscribed ' + this.email.value; return false">
    <input name="email" placeholder="Email address"> <button>Subscribe</button>
  </form>
  <p id="done"></p>
  <script>
    window.clicked = [];
    document.addEventListener("click", (e) => window.clicked.push(e.target.textContent.trim() || e.target.placeholder), true);
  </script>
</body></html>`;

// A local page on loopback: nothing leaves the machine.
const server = createServer((_request, response) => {
  response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(pageHtml);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const address = server.address();
const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;

const browser = await chromium.launch({
  executablePath: process.env.SQUINT_CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const model = process.env.SQUINT_BASE_URL
  ? createRemoteBackend({
      baseUrl: process.env.SQUINT_BASE_URL,
      model: process.env.SQUINT_MODEL_NAME ?? "Qwen/Qwen3-VL-8B-Instruct",
    })
  : undefined;
try {
  // A HiDPI screen: the screenshot is twice the CSS size; squint measures that, and clicks in CSS pixels.
  const context = await browser.newContext({ viewport: { width: 800, height: 500 }, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.goto(url);
  const ui = gui(page, { cache, trace: traceDir, ...(model ? { model } : {}) });

  for (const target of ['"Menu"', '"Archive"']) {
    const done = await ui.click(target, { method: "ocr" });
    console.log(
      `clicked ${target} at (${done.point!.join(", ")}) on <${done.hit?.target.tag}> "${done.hit?.target.name}" — ${done.method}, scale ${done.scale}, cache ${done.cache}, verified ${done.verified}`,
    );
  }
  const typed = await ui.type('"Email address"', "ada@example.com", { method: "ocr" });
  console.log(`typed into <${typed.hit?.target.tag}> "${typed.hit?.target.name}" — verified ${typed.verified}`);
  await ui.click('"Subscribe"', { method: "ocr" });
  console.log(`page says: ${await page.textContent("#done")}`);

  // The same click again comes from the cache, after checking its selector still names "Menu".
  const replay = await ui.click('"Menu"', { method: "ocr" });
  console.log(`replayed "Menu" — cache ${replay.cache}, method ${replay.method}`);

  if (model) {
    await ui.click("the settings gear icon");
    const verdict = await ui.assert("the page says that someone subscribed");
    console.log(`assert: ${verdict.pass ? "pass" : "fail"} — ${verdict.reason}`);
  }
  console.log(`page recorded clicks on: ${((await page.evaluate("window.clicked")) as string[]).join(", ")}`);
  console.log(`trace: ${join(traceDir, "index.html")}`);
  await ui.close();
} finally {
  await browser.close();
  await model?.close();
  server.close();
}
