/**
 * Generates suites/gui: ScreenSpot-style grounding items. Small app pages (built here from a seed: buttons,
 * icon buttons, inputs, checkboxes, links) are rendered in headless Chromium at devicePixelRatio 1, 2 and 3;
 * the truth of each instruction ("Click the 'Export' button") is the target element's
 * getBoundingClientRect() times the DPR, i.e. its box in the screenshot's pixels. Scored by ScreenSpot's rule
 * (the answered point inside the box). Before an item is written, the generator checks the DOM agrees:
 * elementFromPoint at the box centre must be the target (or inside it), so no box is hidden under another.
 *
 * The screenshots are committed with the JSONL (each item pins its image's sha256): the boxes come from this
 * browser's layout and fonts, so image and truth must travel together. Flat UI compresses to a few tens of KB.
 *
 *   node --import tsx scripts/eval-suites/gui.ts [--seed 11] [--out suites/gui]
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { launchChromium } from "../../test/support/chromium.js";
import { seededRandom, shuffled } from "./random.js";

export const DPRS = [1, 2, 3] as const;
export const VIEWPORT = { width: 1280, height: 800 };

interface Target {
  /** data-target value on the element. */
  key: string;
  instruction: string;
}

const ICONS: Record<string, { label: string; path: string }> = {
  trash: { label: "delete", path: "M6 7h12l-1 13H7zM9 4h6l1 2H8z" },
  gear: {
    label: "settings",
    path: "M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM11 2h2v3h-2zM11 19h2v3h-2zM2 11h3v2H2zM19 11h3v2h-3z",
  },
  bell: { label: "notifications", path: "M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20h4a2 2 0 0 1-4 0z" },
  star: { label: "favourite", path: "M12 3l2.6 6 6.4.5-4.9 4.2 1.5 6.3L12 16.7 6.4 20l1.5-6.3L3 9.5 9.4 9z" },
  download: { label: "download", path: "M11 4h2v9l3-3 1.4 1.4L12 17l-5.4-5.6L8 10l3 3zM5 19h14v2H5z" },
};

const BUTTON_WORDS = ["Save changes", "Export", "Cancel", "Publish", "Archive", "Share", "Duplicate", "Preview"];
const FIELD_WORDS = ["Search", "Email address", "Project name", "Due date", "Phone number", "Company"];
const CHECK_WORDS = ["Email alerts", "Dark mode", "Weekly digest", "Two-factor login", "Auto-save"];
const NAV_WORDS = ["Dashboard", "Reports", "Billing", "Team", "Integrations", "Help"];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** One page and the instructions that point into it. */
export function buildPage(seed: number): { html: string; targets: Target[] } {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[], count: number) => shuffled(random, items).slice(0, count);
  const nav = pick(NAV_WORDS, 4);
  const buttons = pick(BUTTON_WORDS, 3);
  const fields = pick(FIELD_WORDS, 3);
  const checks = pick(CHECK_WORDS, 2);
  const icons = pick(Object.keys(ICONS), 4);
  const accent = ["#2563eb", "#059669", "#7c3aed", "#db2777"][Math.floor(random() * 4)];
  const sidebar = Math.round(180 + random() * 80);
  const targets: Target[] = [];
  const navHtml = nav.map((word, i) => `<a href="#" data-target="nav-${i}">${escapeHtml(word)}</a>`).join("");
  targets.push({
    key: `nav-${nav.length - 1}`,
    instruction: `Open the '${nav[nav.length - 1]}' section in the side menu.`,
  });
  const iconHtml = icons
    .map((name) => {
      const icon = ICONS[name] as { label: string; path: string };
      return `<button class="icon" aria-label="${icon.label}" title="${icon.label}" data-target="icon-${name}"><svg viewBox="0 0 24 24" width="18" height="18"><path d="${icon.path}" fill="currentColor"/></svg></button>`;
    })
    .join("");
  const iconTarget = icons[Math.floor(random() * icons.length)] as string;
  targets.push({
    key: `icon-${iconTarget}`,
    instruction: `Click the ${(ICONS[iconTarget] as { label: string }).label} icon in the toolbar.`,
  });
  const fieldHtml = fields
    .map(
      (word, i) =>
        `<label>${escapeHtml(word)}<input type="text" placeholder="${escapeHtml(word)}" data-target="field-${i}"></label>`,
    )
    .join("");
  const fieldTarget = Math.floor(random() * fields.length);
  targets.push({ key: `field-${fieldTarget}`, instruction: `Click the '${fields[fieldTarget]}' input field.` });
  const checkHtml = checks
    .map(
      (word, i) => `<label class="check"><input type="checkbox" data-target="check-${i}">${escapeHtml(word)}</label>`,
    )
    .join("");
  const checkTarget = Math.floor(random() * checks.length);
  targets.push({ key: `check-${checkTarget}`, instruction: `Tick the checkbox for '${checks[checkTarget]}'.` });
  const buttonHtml = buttons
    .map(
      (word, i) => `<button class="${i === 0 ? "primary" : ""}" data-target="button-${i}">${escapeHtml(word)}</button>`,
    )
    .join("");
  const buttonTarget = Math.floor(random() * buttons.length);
  targets.push({ key: `button-${buttonTarget}`, instruction: `Click the '${buttons[buttonTarget]}' button.` });
  const rows = Array.from(
    { length: 6 },
    (_, i) =>
      `<tr><td>${escapeHtml(pick(FIELD_WORDS, 1)[0] as string)} ${100 + Math.floor(random() * 900)}</td><td>${Math.floor(random() * 90) + 10}%</td><td>${escapeHtml(pick(NAV_WORDS, 1)[0] as string)}</td><td>row ${i + 1}</td></tr>`,
  ).join("");
  const html = `<!doctype html><html><head><meta charset="utf-8"><style>
*{box-sizing:border-box}body{margin:0;font:14px "DejaVu Sans",sans-serif;color:#1f2937;background:#f9fafb;display:flex;height:100vh}
nav{width:${sidebar}px;background:#111827;padding:16px 0}nav a{display:block;color:#d1d5db;text-decoration:none;padding:9px 20px}
main{flex:1;padding:20px 28px;overflow:hidden}.toolbar{display:flex;gap:6px;margin-bottom:18px}
.icon{width:34px;height:34px;padding:0;border:1px solid #d1d5db;background:#fff;border-radius:6px;color:#374151;display:flex;align-items:center;justify-content:center}
form{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:18px;display:grid;grid-template-columns:repeat(3,1fr);gap:14px;max-width:820px}
label{display:flex;flex-direction:column;gap:4px;font-size:12px;color:#6b7280}input[type=text]{padding:7px 9px;border:1px solid #d1d5db;border-radius:5px;font-size:13px}
.check{flex-direction:row;align-items:center;gap:8px;color:#374151;font-size:13px}.buttons{grid-column:1/-1;display:flex;gap:10px}
button{font:13px "DejaVu Sans",sans-serif;padding:8px 14px;border-radius:6px;border:1px solid #d1d5db;background:#fff}
button.primary{background:${accent};border-color:${accent};color:#fff}table{margin-top:20px;border-collapse:collapse;width:820px;background:#fff}
td{border-bottom:1px solid #e5e7eb;padding:8px 10px;font-size:13px}
</style></head><body><nav>${navHtml}</nav><main><div class="toolbar">${iconHtml}</div>
<form onsubmit="return false">${fieldHtml}${checkHtml}<div class="buttons">${buttonHtml}</div></form>
<table>${rows}</table></main></body></html>`;
  return { html, targets };
}

export const GUI_SEED = 11;
export const GUI_PAGES = 3;

async function main() {
  const { values } = parseArgs({
    options: {
      seed: { type: "string", default: String(GUI_SEED) },
      pages: { type: "string", default: String(GUI_PAGES) },
      out: { type: "string", default: "suites/gui" },
    },
  });
  const seed = Number(values.seed);
  const out = path.resolve(values.out);
  mkdirSync(path.join(out, "images"), { recursive: true });
  const lines: string[] = [];
  for (let p = 0; p < Number(values.pages); p++) {
    const page = buildPage(seed * 1000 + p);
    for (const dpr of DPRS) {
      const browser = await launchChromium({ viewport: VIEWPORT, deviceScaleFactor: dpr });
      try {
        const tab = await browser.context.newPage();
        await tab.setContent(page.html);
        const raw = await tab.screenshot({ type: "png" });
        const meta = await sharp(raw).metadata();
        if (meta.width !== VIEWPORT.width * dpr || meta.height !== VIEWPORT.height * dpr) {
          throw new Error(`screenshot is ${meta.width}×${meta.height}, expected the viewport × ${dpr}`);
        }
        const png = await sharp(raw).png({ palette: true, colours: 64, compressionLevel: 9, effort: 10 }).toBuffer();
        const name = `images/page${p}-dpr${dpr}.png`;
        writeFileSync(path.join(out, name), png);
        const sha = createHash("sha256").update(png).digest("hex");
        for (const target of page.targets) {
          const found = (await tab.evaluate(`(() => {
            const el = document.querySelector('[data-target="${target.key}"]');
            const r = el.getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return { box: [r.left, r.top, r.right, r.bottom], hit: el === hit || el.contains(hit) };
          })()`)) as { box: [number, number, number, number]; hit: boolean };
          if (!found.hit) throw new Error(`${target.key} on page ${p} is covered at its centre`);
          const box = found.box.map((value) => Math.round(value * dpr * 100) / 100);
          lines.push(
            JSON.stringify({
              id: `gui-p${p}-dpr${dpr}-${target.key}`,
              image: name,
              question: target.instruction,
              truth: { type: "point", boxes: [box] },
              category: `gui-dpr${dpr}`,
              source: `generated: scripts/eval-suites/gui.ts --seed ${seed} (Chromium, devicePixelRatio ${dpr})`,
              licence: "Apache-2.0 (generated by this project)",
              sha256: [sha],
              meta: { dpr, cssBox: found.box, viewport: [VIEWPORT.width, VIEWPORT.height] },
            }),
          );
        }
        process.stderr.write(`${name}: ${png.byteLength} bytes\n`);
      } finally {
        await browser.close();
      }
    }
  }
  writeFileSync(path.join(out, "gui.jsonl"), `${lines.join("\n")}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
