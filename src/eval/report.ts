import { z } from "zod";
import type { EvalKnobs, EvalMode, ItemRecord, ResultsHeader } from "./results-log.js";
import { type PairedDifference, pairedDifference, pairedTable, type Proportion, proportion, summary } from "./stats.js";

/**
 * The report: per mode, overall and per category, accuracy with n and its 95% Wilson interval, the mean
 * score (word recall for OCR items), parse failures, and the cost figures (turns, tool calls, visual
 * tokens, input/output tokens, latency); with both modes, the paired loop − direct difference. The knobs
 * the run was made with are copied in whole, so `squint eval compare` can say whether two reports may be
 * compared at all.
 */

export const REPORT_FORMAT = "squint-eval-report";

export type Spread = NonNullable<ReturnType<typeof summary>>;

export interface ModeSummary {
  n: number;
  accuracy: Proportion;
  /** Mean item score: accuracy for 0/1 items, word recall for `words` items. */
  meanScore: number | null;
  parseFailures: number;
  /** Items whose run did not end with an answer (exhausted, failed, aborted, stopped). */
  unanswered: number;
  turns: Spread | null;
  toolCalls: Spread | null;
  failedToolCalls: number;
  toolCallsByName: Record<string, number>;
  visualTokens: Spread | null;
  inputTokens: Spread | null;
  outputTokens: Spread | null;
  latencyMs: Spread | null;
}

export interface EvalReport {
  format: typeof REPORT_FORMAT;
  version: 1;
  createdAt: string;
  startedAt: string;
  knobs: EvalKnobs;
  suite: ResultsHeader["suite"];
  modes: EvalMode[];
  complete: boolean;
  expected: number;
  recorded: number;
  overall: Partial<Record<EvalMode, ModeSummary>>;
  categories: Record<string, Partial<Record<EvalMode, ModeSummary>>>;
  /** Loop minus direct on the items both modes answered, overall and per category. */
  paired: { overall: PairedDifference; categories: Record<string, PairedDifference> } | null;
  /** What a reader must know before quoting a number (random weights, chance level, an unfinished run). */
  warnings: string[];
  records: ItemRecord[];
}

/** Loose check for reading a report back (compare); the records are re-validated by their own schema. */
export const reportFileSchema = z.looseObject({
  format: z.literal(REPORT_FORMAT),
  version: z.literal(1),
  knobs: z.unknown(),
  records: z.array(z.unknown()),
});

export const RANDOM_WEIGHTS_WARNING =
  "The model has random weights (a tiny test checkpoint): this run exercises the harness only " +
  "(parsing, coordinate mapping, scoring, budgets). Its accuracy is meaningless and must not be quoted as a result.";

function summarise(records: readonly ItemRecord[]): ModeSummary {
  const byName: Record<string, number> = {};
  for (const record of records) {
    for (const [name, count] of Object.entries(record.toolCallsByName)) byName[name] = (byName[name] ?? 0) + count;
  }
  const values = (pick: (record: ItemRecord) => number) => summary(records.map(pick));
  return {
    n: records.length,
    accuracy: proportion(records.filter((record) => record.correct).length, records.length),
    meanScore: records.length === 0 ? null : records.reduce((sum, record) => sum + record.score, 0) / records.length,
    parseFailures: records.filter((record) => record.parseFailure).length,
    unanswered: records.filter((record) => record.status !== "answered").length,
    turns: values((record) => record.turns),
    toolCalls: values((record) => record.toolCalls),
    failedToolCalls: records.reduce((sum, record) => sum + record.failedToolCalls, 0),
    toolCallsByName: byName,
    visualTokens: values((record) => record.visualTokens),
    inputTokens: values((record) => record.inputTokens),
    outputTokens: values((record) => record.outputTokens),
    latencyMs: values((record) => record.latencyMs),
  };
}

function byMode(records: readonly ItemRecord[], modes: readonly EvalMode[]): Partial<Record<EvalMode, ModeSummary>> {
  const out: Partial<Record<EvalMode, ModeSummary>> = {};
  for (const mode of modes) out[mode] = summarise(records.filter((record) => record.mode === mode));
  return out;
}

function paired(records: readonly ItemRecord[]): PairedDifference {
  const direct = new Map(records.filter((r) => r.mode === "direct").map((record) => [record.id, record.correct]));
  const pairs = records
    .filter((record) => record.mode === "loop" && direct.has(record.id))
    .map((record) => [record.correct, direct.get(record.id) as boolean] as const);
  return pairedDifference(pairedTable(pairs));
}

export interface BuildReportInput {
  header: ResultsHeader;
  records: ItemRecord[];
  modes: EvalMode[];
  expected: number;
  /** Options per choice item, for the chance level (id → option count). */
  choiceOptions?: ReadonlyMap<string, number>;
}

export function buildReport(input: BuildReportInput): EvalReport {
  const { header, records, modes } = input;
  const categories: EvalReport["categories"] = {};
  for (const category of [...new Set(records.map((record) => record.category))].sort()) {
    categories[category] = byMode(
      records.filter((record) => record.category === category),
      modes,
    );
  }
  const both = modes.includes("loop") && modes.includes("direct");
  const pairedCategories: Record<string, PairedDifference> = {};
  if (both) {
    for (const category of Object.keys(categories)) {
      pairedCategories[category] = paired(records.filter((record) => record.category === category));
    }
  }
  const overall = byMode(records, modes);
  const warnings: string[] = [];
  if (header.knobs.model.randomWeights) warnings.push(RANDOM_WEIGHTS_WARNING);
  if (records.length < input.expected) {
    warnings.push(
      `The run is unfinished: ${records.length} of ${input.expected} item runs are recorded. Run the same command again to finish it.`,
    );
  }
  const chance = chanceLevel(records, input.choiceOptions);
  for (const mode of modes) {
    const interval = overall[mode]?.accuracy.interval;
    if (chance !== null && interval && interval.low <= chance && chance <= interval.high) {
      warnings.push(
        `${mode}: the accuracy interval includes the chance level of guessing (${(chance * 100).toFixed(1)}%); it does not show the model is better than a guess.`,
      );
    }
  }
  const smallest = Math.min(...modes.map((mode) => overall[mode]?.n ?? 0));
  if (smallest > 0 && smallest < 30) {
    warnings.push(
      `Only ${smallest} items per mode: the intervals are wide, and a small suite is not comparable with published benchmark scores.`,
    );
  }
  return {
    format: REPORT_FORMAT,
    version: 1,
    createdAt: new Date().toISOString(),
    startedAt: header.startedAt,
    knobs: header.knobs,
    suite: header.suite,
    modes,
    complete: records.length === input.expected,
    expected: input.expected,
    recorded: records.length,
    overall,
    categories,
    paired: both ? { overall: paired(records), categories: pairedCategories } : null,
    warnings,
    records,
  };
}

/** The accuracy of guessing uniformly, when every item is multiple choice (else null). */
function chanceLevel(records: readonly ItemRecord[], options?: ReadonlyMap<string, number>): number | null {
  if (!options || records.length === 0 || records.some((record) => record.truthType !== "choice")) return null;
  const odds = records.map((record) => 1 / (options.get(record.id) ?? Number.POSITIVE_INFINITY));
  return odds.reduce((sum, value) => sum + value, 0) / odds.length;
}

const percent = (value: number | null | undefined) =>
  value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`;
const points = (value: number) => `${value >= 0 ? "+" : "−"}${Math.abs(value * 100).toFixed(1)}`;
const number = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined ? "—" : value.toLocaleString("en-US", { maximumFractionDigits: digits });

export function formatInterval(accuracy: Proportion): string {
  return accuracy.interval
    ? `[${(accuracy.interval.low * 100).toFixed(1)}, ${(accuracy.interval.high * 100).toFixed(1)}]`
    : "—";
}

export function formatDifference(difference: PairedDifference): string {
  if (difference.difference === null || !difference.interval) return "no paired items";
  const { b, c } = difference.table;
  if (b + c === 0) {
    // Newcombe's interval collapses to [0, 0] here (phi = 1): say what it means instead of printing certainty.
    return `±0.0 pts over ${difference.n} paired items: the two modes were right and wrong on exactly the same items (no discordant pairs, so no interval)`;
  }
  return (
    `${points(difference.difference)} pts, 95% CI [${points(difference.interval.low)}, ${points(difference.interval.high)}] ` +
    `over ${difference.n} paired items (loop only right: ${b}, direct only right: ${c}; McNemar exact p = ${number(difference.mcnemarP, 3)})`
  );
}

function table(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

function modeRows(label: string, summaries: Partial<Record<EvalMode, ModeSummary>>, modes: EvalMode[]): string[][] {
  return modes.map((mode) => {
    const s = summaries[mode];
    return [
      label,
      mode,
      String(s?.n ?? 0),
      percent(s?.accuracy.value),
      s ? formatInterval(s.accuracy) : "—",
      number(s?.meanScore, 3),
      String(s?.parseFailures ?? 0),
      number(s?.turns?.mean),
      number(s?.toolCalls?.mean),
      number(s?.visualTokens?.mean, 0),
      number(s?.inputTokens?.mean, 0),
      number(s?.outputTokens?.mean, 0),
      s?.latencyMs ? `${(s.latencyMs.median / 1000).toFixed(2)} s` : "—",
    ];
  });
}

/** The report as the terminal shows it. */
export function formatReport(report: EvalReport): string {
  const knobs = report.knobs;
  const lines = [
    `squint eval: ${report.suite.path} (${report.suite.items} items; ${report.recorded}/${report.expected} item runs recorded)`,
    `model ${knobs.model.id} (revision ${knobs.model.revision ?? "unknown"}; ${knobs.model.backend}); ` +
      `pixels ${knobs.minPixels}–${knobs.maxPixels}; temperature ${String(knobs.sampling.temperature ?? "default")}, ` +
      `seed ${String(knobs.sampling.seed ?? "none")}; max steps ${knobs.maxSteps}; prompts ${knobs.promptTemplateHash}`,
    "",
  ];
  const header = [
    "",
    "mode",
    "n",
    "accuracy",
    "95% CI",
    "score",
    "parse fail",
    "turns",
    "tool calls",
    "visual tok",
    "input tok",
    "output tok",
    "latency (median)",
  ];
  const rows = [header, ...modeRows("overall", report.overall, report.modes)];
  for (const [category, summaries] of Object.entries(report.categories))
    rows.push(...modeRows(category, summaries, report.modes));
  lines.push(...table(rows));
  if (report.paired) {
    lines.push("", `loop − direct: ${formatDifference(report.paired.overall)}`);
    for (const [category, difference] of Object.entries(report.paired.categories)) {
      lines.push(`  ${category}: ${formatDifference(difference)}`);
    }
    lines.push(`  (${report.paired.overall.method})`);
  }
  lines.push("", "accuracy intervals: 95% Wilson score; turns, tokens and tool calls are means per item.");
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join("\n")}\n`;
}
