import type { EvalReport, ModeSummary } from "./report.js";
import { formatDifference, formatInterval } from "./report.js";
import type { EvalMode, ItemRecord } from "./results-log.js";

/**
 * The report as one self-contained HTML page (no script, no external file): the warnings first, the pinned
 * knobs, the summary tables, three inline-SVG plots — accuracy by category with 95% intervals, a histogram of
 * turns per item, accuracy against tokens per item — and every item's record.
 */

const MODE_COLOURS: Record<EvalMode, string> = { loop: "#2563eb", direct: "#d97706" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const pct = (value: number | null | undefined) =>
  value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`;
const num = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined ? "—" : value.toLocaleString("en-US", { maximumFractionDigits: digits });

/** Grouped bars: one group per category, one bar per mode, with the Wilson interval as a whisker. */
export function accuracyChart(report: EvalReport): string {
  const groups = [["overall", report.overall] as const, ...Object.entries(report.categories)];
  const barWidth = 22;
  const groupWidth = report.modes.length * barWidth + 24;
  const left = 44;
  const top = 16;
  const height = 180;
  const width = left + groups.length * groupWidth + 16;
  const y = (value: number) => top + height * (1 - value);
  const parts: string[] = [];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${left}" x2="${width - 8}" y1="${y(tick)}" y2="${y(tick)}" class="grid"/>`,
      `<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end" class="tick">${tick * 100}%</text>`,
    );
  }
  groups.forEach(([name, summaries], g) => {
    const x0 = left + g * groupWidth + 12;
    report.modes.forEach((mode, m) => {
      const summary = summaries[mode];
      const value = summary?.accuracy.value ?? 0;
      const x = x0 + m * barWidth;
      parts.push(
        `<rect class="bar" data-mode="${mode}" data-category="${escapeHtml(name)}" x="${x}" y="${y(value)}" width="${barWidth - 4}" height="${(height * value).toFixed(2)}" fill="${MODE_COLOURS[mode]}"><title>${escapeHtml(name)} · ${mode}: ${pct(summary?.accuracy.value)} ${summary ? formatInterval(summary.accuracy) : ""} (n=${summary?.n ?? 0})</title></rect>`,
      );
      const interval = summary?.accuracy.interval;
      if (interval) {
        const cx = x + (barWidth - 4) / 2;
        parts.push(
          `<line class="whisker" x1="${cx}" x2="${cx}" y1="${y(interval.high)}" y2="${y(interval.low)}"/>`,
          `<line class="whisker" x1="${cx - 4}" x2="${cx + 4}" y1="${y(interval.high)}" y2="${y(interval.high)}"/>`,
          `<line class="whisker" x1="${cx - 4}" x2="${cx + 4}" y1="${y(interval.low)}" y2="${y(interval.low)}"/>`,
        );
      }
    });
    parts.push(
      `<text x="${x0 + (report.modes.length * barWidth) / 2}" y="${top + height + 16}" text-anchor="middle" class="label">${escapeHtml(name)}</text>`,
    );
  });
  return svg(
    "accuracy-by-category",
    width,
    top + height + 28,
    "Accuracy by category, with 95% Wilson intervals",
    parts,
  );
}

/** How many items took 1, 2, 3, … model turns, per mode. */
export function turnsHistogram(report: EvalReport): string {
  const maxTurns = Math.max(1, ...report.records.map((record) => record.turns));
  // 0 turns happens only when a run failed before the model was asked: shown only then.
  const minTurns = Math.min(1, ...report.records.map((record) => record.turns));
  const counts = report.modes.map((mode) => {
    const row = new Array<number>(maxTurns + 1).fill(0);
    for (const record of report.records) if (record.mode === mode) row[record.turns] = (row[record.turns] ?? 0) + 1;
    return row;
  });
  const highest = Math.max(1, ...counts.flat());
  const left = 44;
  const top = 16;
  const height = 150;
  const barWidth = 14;
  const groupWidth = report.modes.length * barWidth + 14;
  const width = left + (maxTurns - minTurns + 1) * groupWidth + 16;
  const y = (value: number) => top + height * (1 - value / highest);
  const parts: string[] = [
    `<line x1="${left}" x2="${width - 8}" y1="${y(0)}" y2="${y(0)}" class="grid"/>`,
    `<text x="${left - 6}" y="${y(highest) + 4}" text-anchor="end" class="tick">${highest}</text>`,
    `<text x="${left - 6}" y="${y(0) + 4}" text-anchor="end" class="tick">0</text>`,
  ];
  for (let turns = minTurns; turns <= maxTurns; turns++) {
    const x0 = left + (turns - minTurns) * groupWidth + 7;
    report.modes.forEach((mode, m) => {
      const count = counts[m]?.[turns] ?? 0;
      if (count > 0) {
        parts.push(
          `<rect class="bar" data-mode="${mode}" data-turns="${turns}" x="${x0 + m * barWidth}" y="${y(count)}" width="${barWidth - 3}" height="${(y(0) - y(count)).toFixed(2)}" fill="${MODE_COLOURS[mode]}"><title>${mode}: ${count} item(s) with ${turns} turn(s)</title></rect>`,
        );
      }
    });
    parts.push(
      `<text x="${x0 + (report.modes.length * barWidth) / 2}" y="${top + height + 16}" text-anchor="middle" class="label">${turns}</text>`,
    );
  }
  parts.push(
    `<text x="${(left + width) / 2}" y="${top + height + 30}" text-anchor="middle" class="label">model turns</text>`,
  );
  return svg("turns-histogram", width, top + height + 38, "Model turns per item", parts);
}

/** Accuracy against mean tokens per item (input + output), one point per mode and category. */
export function tokensChart(report: EvalReport): string {
  const points: Array<{ name: string; mode: EvalMode; tokens: number; summary: ModeSummary }> = [];
  for (const [name, summaries] of [["overall", report.overall] as const, ...Object.entries(report.categories)]) {
    for (const mode of report.modes) {
      const summary = summaries[mode];
      if (!summary || summary.n === 0) continue;
      const tokens = (summary.inputTokens?.mean ?? 0) + (summary.outputTokens?.mean ?? 0);
      points.push({ name, mode, tokens, summary });
    }
  }
  const left = 56;
  const top = 16;
  const width = 460;
  const height = 200;
  const maxTokens = Math.max(1, ...points.map((point) => point.tokens)) * 1.1;
  const x = (tokens: number) => left + (width - left - 16) * (tokens / maxTokens);
  const y = (value: number) => top + height * (1 - value);
  const parts: string[] = [];
  for (const tick of [0, 0.5, 1]) {
    parts.push(
      `<line x1="${left}" x2="${width - 8}" y1="${y(tick)}" y2="${y(tick)}" class="grid"/>`,
      `<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end" class="tick">${tick * 100}%</text>`,
    );
  }
  for (const tick of [0, maxTokens / 2, maxTokens]) {
    parts.push(
      `<text x="${x(tick)}" y="${top + height + 16}" text-anchor="middle" class="tick">${num(tick, 0)}</text>`,
    );
  }
  for (const point of points) {
    const interval = point.summary.accuracy.interval;
    const cx = x(point.tokens);
    const cy = y(point.summary.accuracy.value ?? 0);
    if (interval)
      parts.push(`<line class="whisker" x1="${cx}" x2="${cx}" y1="${y(interval.high)}" y2="${y(interval.low)}"/>`);
    parts.push(
      `<circle class="point" data-mode="${point.mode}" data-category="${escapeHtml(point.name)}" cx="${cx.toFixed(2)}" cy="${cy.toFixed(2)}" r="${point.name === "overall" ? 6 : 4}" fill="${MODE_COLOURS[point.mode]}"><title>${escapeHtml(point.name)} · ${point.mode}: ${pct(point.summary.accuracy.value)} at ${num(point.tokens, 0)} tokens per item</title></circle>`,
    );
  }
  parts.push(
    `<text x="${(left + width) / 2}" y="${top + height + 30}" text-anchor="middle" class="label">tokens per item (input + output)</text>`,
  );
  return svg("tokens-vs-accuracy", width, top + height + 38, "Accuracy against tokens per item", parts);
}

function svg(id: string, width: number, height: number, title: string, parts: string[]): string {
  return (
    `<figure><svg id="${id}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}">` +
    `<title>${escapeHtml(title)}</title>${parts.join("")}</svg><figcaption>${escapeHtml(title)}</figcaption></figure>`
  );
}

function summaryRows(label: string, summaries: Partial<Record<EvalMode, ModeSummary>>, modes: EvalMode[]): string {
  return modes
    .map((mode) => {
      const s = summaries[mode];
      const cells = [
        label,
        mode,
        String(s?.n ?? 0),
        pct(s?.accuracy.value),
        s ? formatInterval(s.accuracy) : "—",
        num(s?.meanScore, 3),
        String(s?.parseFailures ?? 0),
        String(s?.unanswered ?? 0),
        num(s?.turns?.mean),
        num(s?.toolCalls?.mean),
        num(s?.visualTokens?.mean, 0),
        num(s?.inputTokens?.mean, 0),
        num(s?.outputTokens?.mean, 0),
        s?.latencyMs ? `${(s.latencyMs.median / 1000).toFixed(2)} s` : "—",
      ];
      return `<tr data-mode="${mode}">${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`;
    })
    .join("");
}

function recordRow(record: ItemRecord): string {
  const answer =
    record.answer === null ? "" : record.answer.length > 160 ? `${record.answer.slice(0, 160)}…` : record.answer;
  const cells = [
    record.id,
    record.category,
    record.mode,
    record.correct ? "✓" : "✗",
    record.status,
    answer,
    record.parseFailure ? "parse failure" : JSON.stringify(record.parsed ?? null),
    String(record.turns),
    String(record.toolCalls),
    String(record.visualTokens),
    String(record.inputTokens),
    String(record.outputTokens),
    `${(record.latencyMs / 1000).toFixed(2)} s`,
  ];
  return `<tr class="${record.correct ? "right" : "wrong"}">${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`;
}

export function renderReportHtml(report: EvalReport): string {
  const knobs = report.knobs;
  const knobRows: Array<[string, string]> = [
    ["model", knobs.model.id],
    ["revision", knobs.model.revision ?? "unknown"],
    ["backend", knobs.model.backend],
    ["thinking", String(knobs.model.thinking)],
    ["random weights", String(knobs.model.randomWeights)],
    ["min / max pixels", `${knobs.minPixels} / ${knobs.maxPixels}`],
    ["sampling", JSON.stringify(knobs.sampling)],
    ["max steps", String(knobs.maxSteps)],
    ["max new tokens", String(knobs.maxNewTokens ?? "backend default")],
    ["max visual tokens", String(knobs.maxVisualTokens ?? "none")],
    ["tools", knobs.tools.join(", ") || "none"],
    ["prompt template hash", knobs.promptTemplateHash],
    ["suite", `${report.suite.path} (sha256 ${report.suite.sha256.slice(0, 16)}…, ${report.suite.items} items)`],
    ["started / written", `${report.startedAt} / ${report.createdAt}`],
  ];
  const head = [
    "",
    "mode",
    "n",
    "accuracy",
    "95% CI",
    "score",
    "parse fail",
    "unanswered",
    "turns",
    "tool calls",
    "visual tok",
    "input tok",
    "output tok",
    "latency (median)",
  ];
  const categoryRows = Object.entries(report.categories)
    .map(([name, summaries]) => summaryRows(name, summaries, report.modes))
    .join("");
  const paired = report.paired
    ? `<h2>Loop − direct</h2><p id="paired">${escapeHtml(formatDifference(report.paired.overall))}</p><ul>${Object.entries(
        report.paired.categories,
      )
        .map(([name, difference]) => `<li>${escapeHtml(name)}: ${escapeHtml(formatDifference(difference))}</li>`)
        .join("")}</ul><p class="note">${escapeHtml(report.paired.overall.method)}.</p>`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>squint eval — ${escapeHtml(knobs.model.id)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#111;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f5}.warning{background:#fef3c7;border:1px solid #f59e0b;padding:8px 12px;margin:8px 0}
.grid{stroke:#e5e7eb}.tick,.label{font-size:11px;fill:#444}.whisker{stroke:#111;stroke-width:1.2}
figure{display:inline-block;margin:8px 24px 8px 0}figcaption{font-size:12px;color:#555}
tr.wrong td:nth-child(4){color:#b91c1c}tr.right td:nth-child(4){color:#15803d}.note{color:#555}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
</style></head><body>
<h1>squint eval</h1>
${report.warnings.map((warning) => `<div class="warning">${escapeHtml(warning)}</div>`).join("\n")}
<h2>Pinned knobs</h2>
<table id="knobs">${knobRows.map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td>${escapeHtml(value)}</td></tr>`).join("")}</table>
<h2>Summary</h2>
<p>${report.recorded} of ${report.expected} item runs recorded${report.complete ? "" : " (unfinished)"}. Accuracy intervals are 95% Wilson score intervals; cost figures are means per item.</p>
<table id="summary"><tr>${head.map((cell) => `<th>${escapeHtml(cell)}</th>`).join("")}</tr>${summaryRows("overall", report.overall, report.modes)}${categoryRows}</table>
${paired}
<h2>Plots</h2>
<p class="legend">${report.modes.map((mode) => `<span style="background:${MODE_COLOURS[mode]}"></span>${mode}`).join("")}</p>
${accuracyChart(report)}
${turnsHistogram(report)}
${tokensChart(report)}
<h2>Items</h2>
<table id="items"><tr>${["id", "category", "mode", "correct", "status", "answer", "read as", "turns", "tool calls", "visual tok", "input tok", "output tok", "latency"].map((cell) => `<th>${cell}</th>`).join("")}</tr>
${report.records.map(recordRow).join("\n")}</table>
</body></html>
`;
}
