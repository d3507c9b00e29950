import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { buildReport, RANDOM_WEIGHTS_WARNING } from "../../src/eval/report.js";
import { renderReportHtml } from "../../src/eval/report-html.js";
import type { EvalMode, ItemRecord, ResultsHeader } from "../../src/eval/results-log.js";
import { hasChromium, launchChromium } from "../support/chromium.js";

const header: ResultsHeader = {
  kind: "header",
  format: "squint-eval-results",
  version: 1,
  knobs: {
    model: { id: "tiny <test>", revision: null, backend: "local:tiny", thinking: true, randomWeights: true },
    minPixels: 65_536,
    maxPixels: 1_048_576,
    sampling: { temperature: 0.6, seed: 1234 },
    maxSteps: 8,
    maxNewTokens: null,
    maxVisualTokens: 24_576,
    tools: ["image_zoom_in_tool"],
    promptTemplateHash: "0123456789abcdef",
  },
  suite: { path: "/suites/x.jsonl", sha256: "f".repeat(64), items: 10 },
  startedAt: "2026-12-04T18:00:00.000Z",
};

function record(id: number, mode: EvalMode, category: string, correct: boolean, turns: number): ItemRecord {
  return {
    kind: "item",
    id: `item-${id}`,
    mode,
    category,
    truthType: "choice",
    status: "answered",
    correct,
    score: correct ? 1 : 0,
    answer: correct ? "B" : "C <b>not html</b>",
    parsed: correct ? "B" : "C",
    parseFailure: false,
    turns,
    toolCalls: turns - 1,
    failedToolCalls: 0,
    toolCallsByName: turns > 1 ? { image_zoom_in_tool: turns - 1 } : {},
    visualTokens: 100 * turns,
    inputTokens: 1000 * turns,
    outputTokens: 50 * turns,
    latencyMs: 300 * turns,
    finishedAt: "2026-12-04T18:00:01.000Z",
  };
}

// 10 items: loop right on 8 (needle 4/5, gui 4/5) with 1–3 turns; direct right on 5 (needle 2/5, gui 3/5).
const records: ItemRecord[] = [];
for (let i = 0; i < 10; i++) {
  const category = i < 5 ? "needle" : "gui";
  records.push(record(i, "loop", category, i !== 0 && i !== 5, 1 + (i % 3)));
  records.push(record(i, "direct", category, i < 2 || (i >= 5 && i < 8), 1));
}

interface Bar {
  mode: string | null;
  category: string | null;
  turns: string | null;
  height: number;
}

interface PageFacts {
  svgs: Array<{ id: string; width: number; height: number }>;
  accuracy: Bar[];
  turns: Bar[];
  points: number;
  warnings: string[];
  knobs: string;
  items: number;
  injected: number;
  paired: string;
}

describe.skipIf(!hasChromium)("the HTML report in Chromium", () => {
  it("renders the warnings, the knobs, three plots with the right bars, and every item, without errors", async () => {
    const report = buildReport({ header, records, modes: ["loop", "direct"], expected: 20 });
    expect(report.overall.loop?.accuracy.k).toBe(8);
    expect(report.overall.direct?.accuracy.k).toBe(5);
    const dir = mkdtempSync(path.join(tmpdir(), "squint-report-"));
    const file = path.join(dir, "report.html");
    writeFileSync(file, renderReportHtml(report));
    const browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await browser.context.newPage();
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
      });
      page.on("pageerror", (error) => problems.push(error.message));
      const requests: string[] = [];
      page.on("request", (request) => requests.push(request.url()));
      await page.goto(pathToFileURL(file).href);
      // Runs in the page (the test is compiled without DOM types, so the page code is a string).
      const seen = (await page.evaluate(`(() => {
        const bars = (id) =>
          [...document.querySelectorAll("#" + id + " rect.bar")].map((bar) => ({
            mode: bar.getAttribute("data-mode"),
            category: bar.getAttribute("data-category"),
            turns: bar.getAttribute("data-turns"),
            height: bar.getBBox().height,
          }));
        const svgs = [...document.querySelectorAll("svg")].map((svg) => {
          const box = svg.getBoundingClientRect();
          return { id: svg.id, width: box.width, height: box.height };
        });
        return {
          svgs,
          accuracy: bars("accuracy-by-category"),
          turns: bars("turns-histogram"),
          points: document.querySelectorAll("#tokens-vs-accuracy circle.point").length,
          warnings: [...document.querySelectorAll(".warning")].map((node) => node.textContent),
          knobs: document.querySelector("#knobs")?.textContent ?? "",
          items: document.querySelectorAll("#items tr").length - 1,
          injected: document.querySelectorAll("#items b").length,
          paired: document.querySelector("#paired")?.textContent ?? "",
        };
      })()`)) as PageFacts;
      expect(problems).toEqual([]);
      // Self-contained: the page itself is the only thing it loads.
      expect(requests).toEqual([pathToFileURL(file).href]);
      expect(seen.svgs.map((svg) => svg.id)).toEqual(["accuracy-by-category", "turns-histogram", "tokens-vs-accuracy"]);
      for (const svg of seen.svgs) {
        expect(svg.width).toBeGreaterThan(100);
        expect(svg.height).toBeGreaterThan(100);
      }
      // Bars: (overall + 2 categories) × 2 modes, each 180 px × accuracy tall.
      expect(seen.accuracy).toHaveLength(6);
      const height = (mode: string, category: string) =>
        seen.accuracy.find((bar) => bar.mode === mode && bar.category === category)?.height;
      expect(height("loop", "overall")).toBeCloseTo(180 * 0.8, 1);
      expect(height("direct", "overall")).toBeCloseTo(180 * 0.5, 1);
      expect(height("direct", "needle")).toBeCloseTo(180 * 0.4, 1);
      expect(height("loop", "gui")).toBeCloseTo(180 * 0.8, 1);
      // Turns: direct always 1 (10 items); loop 1, 2, 3 turns for items i % 3 = 0, 1, 2 (4, 3, 3 items).
      const turnBars = Object.fromEntries(seen.turns.map((bar) => [`${bar.mode}:${bar.turns}`, bar.height]));
      expect(Object.keys(turnBars).sort()).toEqual(["direct:1", "loop:1", "loop:2", "loop:3"]);
      expect(turnBars["direct:1"]).toBeCloseTo(150, 1);
      expect(turnBars["loop:1"]).toBeCloseTo(60, 1);
      expect(turnBars["loop:2"]).toBeCloseTo(45, 1);
      expect(seen.points).toBe(6);
      expect(seen.warnings).toContain(RANDOM_WEIGHTS_WARNING);
      expect(seen.knobs).toContain("tiny <test>");
      expect(seen.knobs).toContain("0123456789abcdef");
      expect(seen.items).toBe(20);
      expect(seen.injected).toBe(0);
      expect(seen.paired).toMatch(/^\+30\.0 pts, 95% CI/);
      const shot = await page.screenshot({ fullPage: true });
      expect(shot.byteLength).toBeGreaterThan(20_000);
      if (process.env.SQUINT_REPORT_SHOT) writeFileSync(process.env.SQUINT_REPORT_SHOT, shot);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
