import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseWith, SquintError } from "../errors.js";
import { type EvalReport, formatInterval, reportFileSchema } from "./report.js";
import { type EvalMode, type ItemRecord, itemRecordSchema, knobDifferences } from "./results-log.js";
import {
  type PairedDifference,
  pairedDifference,
  pairedTable,
  proportion,
  type UnpairedDifference,
  unpairedDifference,
} from "./stats.js";

/**
 * `squint eval compare A B`: the knobs that differ (a different prompt template, pixel budget, sampling or
 * step limit makes the comparison one of settings, and it says so), then per mode A's and B's accuracy and
 * B − A. On the same suite the items pair up, and the difference uses the paired interval; on different
 * suites it is the unpaired one.
 */

export function loadReport(target: string): EvalReport {
  const file = existsSync(target) && statSync(target).isDirectory() ? path.join(target, "report.json") : target;
  if (!existsSync(file)) {
    throw new SquintError("NOT_FOUND", `No report at ${file}.`, {
      hint: "Give a directory written by `squint eval --out DIR` or its report.json.",
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new SquintError("INVALID_ARGUMENT", `${file} is not JSON.`, { hint: "Give a report.json from squint eval." });
  }
  const hint = "Give a report.json written by squint eval.";
  const parsed = parseWith(reportFileSchema, value, `${file} is not a squint eval report`, { hint });
  const report = value as EvalReport;
  report.records = parsed.records.map((record) =>
    parseWith(itemRecordSchema, record, `${file} holds a record that is not a squint eval item`, { hint }),
  );
  return report;
}

export interface ModeComparison {
  mode: EvalMode;
  a: ReturnType<typeof proportion>;
  b: ReturnType<typeof proportion>;
  /** B − A. */
  paired: PairedDifference | null;
  unpaired: UnpairedDifference;
}

export interface Comparison {
  a: { suite: string; model: string; createdAt: string };
  b: { suite: string; model: string; createdAt: string };
  sameSuite: boolean;
  knobDifferences: string[];
  modes: ModeComparison[];
  warnings: string[];
}

const correct = (records: readonly ItemRecord[]) => records.filter((record) => record.correct).length;

export function compareReports(a: EvalReport, b: EvalReport): Comparison {
  const sameSuite = a.suite.sha256 === b.suite.sha256;
  const differences = knobDifferences(a.knobs, b.knobs);
  const modes = a.modes.filter((mode) => b.modes.includes(mode));
  const warnings = [...new Set([...a.warnings, ...b.warnings])];
  if (differences.some((line) => /^(promptTemplateHash|minPixels|maxPixels|sampling|maxSteps)/.test(line))) {
    warnings.push("The reports differ in pinned knobs (listed above): the difference measures those settings too.");
  }
  if (modes.length === 0) warnings.push("The reports share no mode.");
  return {
    a: { suite: a.suite.path, model: a.knobs.model.id, createdAt: a.createdAt },
    b: { suite: b.suite.path, model: b.knobs.model.id, createdAt: b.createdAt },
    sameSuite,
    knobDifferences: differences,
    modes: modes.map((mode) => {
      const ra = a.records.filter((record) => record.mode === mode);
      const rb = b.records.filter((record) => record.mode === mode);
      const pa = proportion(correct(ra), ra.length);
      const pb = proportion(correct(rb), rb.length);
      let paired: PairedDifference | null = null;
      if (sameSuite) {
        const inA = new Map(ra.map((record) => [record.id, record.correct]));
        const pairs = rb
          .filter((record) => inA.has(record.id))
          .map((r) => [r.correct, inA.get(r.id) as boolean] as const);
        paired = pairedDifference(pairedTable(pairs));
      }
      return { mode, a: pa, b: pb, paired, unpaired: unpairedDifference(pb, pa) };
    }),
    warnings,
  };
}

const pct = (value: number | null) => (value === null ? "—" : `${(value * 100).toFixed(1)}%`);
const pts = (value: number) => `${value >= 0 ? "+" : "−"}${Math.abs(value * 100).toFixed(1)}`;

export function formatComparison(comparison: Comparison): string {
  const lines = [
    `A: ${comparison.a.model} on ${comparison.a.suite} (${comparison.a.createdAt})`,
    `B: ${comparison.b.model} on ${comparison.b.suite} (${comparison.b.createdAt})`,
    comparison.sameSuite ? "same suite: items are paired" : "different suites: items are not paired",
    "",
    comparison.knobDifferences.length > 0 ? "knobs that differ (A → B):" : "knobs: identical",
    ...comparison.knobDifferences.map((line) => `  ${line}`),
    "",
  ];
  for (const mode of comparison.modes) {
    lines.push(
      `${mode.mode}: A ${pct(mode.a.value)} ${formatInterval(mode.a)} (n=${mode.a.n}), B ${pct(mode.b.value)} ${formatInterval(mode.b)} (n=${mode.b.n})`,
    );
    const difference = mode.paired ?? mode.unpaired;
    if (difference.difference !== null && difference.interval) {
      const over = mode.paired ? ` over ${mode.paired.n} paired items` : "";
      lines.push(
        `  B − A: ${pts(difference.difference)} pts, 95% CI [${pts(difference.interval.low)}, ${pts(difference.interval.high)}]${over} (${difference.method})`,
      );
    }
  }
  for (const warning of comparison.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join("\n")}\n`;
}
