import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { compareReports, loadReport } from "../../src/eval/compare.js";
import { buildReport } from "../../src/eval/report.js";
import type { ItemRecord, ResultsHeader } from "../../src/eval/results-log.js";
import { captureIO } from "./fixtures.js";

function header(temperature: number, sha = "a"): ResultsHeader {
  return {
    kind: "header",
    format: "squint-eval-results",
    version: 1,
    knobs: {
      model: { id: "m", revision: "r1", backend: "remote:vllm", thinking: true, randomWeights: false },
      minPixels: 65_536,
      maxPixels: 1_048_576,
      sampling: { temperature, seed: 1234 },
      maxSteps: 8,
      maxNewTokens: null,
      maxVisualTokens: 24_576,
      tools: ["image_zoom_in_tool"],
      promptTemplateHash: "0123456789abcdef",
    },
    suite: { path: "/s.jsonl", sha256: sha.repeat(64), items: 20 },
    startedAt: "2026-12-04T18:00:00.000Z",
  };
}

const rec = (id: number, correct: boolean): ItemRecord => ({
  kind: "item",
  id: `item-${id}`,
  mode: "loop",
  category: "all",
  truthType: "choice",
  status: "answered",
  correct,
  score: correct ? 1 : 0,
  answer: correct ? "B" : "C",
  parsed: null,
  parseFailure: false,
  turns: 1,
  toolCalls: 0,
  failedToolCalls: 0,
  toolCallsByName: {},
  visualTokens: 1,
  inputTokens: 1,
  outputTokens: 1,
  latencyMs: 1,
  finishedAt: "2026-12-04T18:00:01.000Z",
});

function writeReport(dir: string, head: ResultsHeader, right: (i: number) => boolean): string {
  const records = Array.from({ length: 20 }, (_, i) => rec(i, right(i)));
  const report = buildReport({ header: head, records, modes: ["loop"], expected: 20 });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "report.json"), JSON.stringify(report));
  return dir;
}

describe("squint eval compare", () => {
  const root = mkdtempSync(path.join(tmpdir(), "squint-compare-"));
  // A: right on 0–11 (12/20). B: right on 0–9 and 12–17 (16/20): B only right on 12–17 (6), A only on 10–11 (2).
  const a = writeReport(path.join(root, "a"), header(0.6), (i) => i < 12);
  const b = writeReport(path.join(root, "b"), header(0), (i) => i < 10 || (i >= 12 && i < 18));

  it("pairs the items of one suite: B − A with the paired interval, and lists the knobs that differ", () => {
    const comparison = compareReports(loadReport(a), loadReport(b));
    expect(comparison.sameSuite).toBe(true);
    expect(comparison.knobDifferences).toEqual(["sampling.temperature: 0.6 → 0"]);
    const loop = comparison.modes[0];
    expect(loop?.a.k).toBe(12);
    expect(loop?.b.k).toBe(16);
    // The table of test/eval/stats.test.ts: (a, b, c, d) = (10, 6, 2, 2) → +0.2, [−0.067404, 0.433647].
    expect(loop?.paired?.table).toEqual({ a: 10, b: 6, c: 2, d: 2 });
    expect(loop?.paired?.interval?.low).toBeCloseTo(-0.067404, 5);
    expect(loop?.paired?.interval?.high).toBeCloseTo(0.433647, 5);
    expect(comparison.warnings.join("\n")).toMatch(/differ in pinned knobs/);
  });

  it("different suites: unpaired interval; the CLI prints both and refuses a non-report", async () => {
    const c = writeReport(path.join(root, "c"), header(0.6, "b"), (i) => i < 16);
    const comparison = compareReports(loadReport(a), loadReport(path.join(c, "report.json")));
    expect(comparison.sameSuite).toBe(false);
    expect(comparison.modes[0]?.paired).toBeNull();
    expect(comparison.modes[0]?.unpaired.difference).toBeCloseTo(0.2, 12);
    const io = captureIO();
    expect(await main(["eval", "compare", a, b], io)).toBe(0);
    expect(io.out()).toMatch(/loop: A 60\.0% \[38\.7, 78\.1\] \(n=20\), B 80\.0% \[58\.4, 91\.9\] \(n=20\)/);
    expect(io.out()).toMatch(/B − A: \+20\.0 pts, 95% CI \[−6\.7, \+43\.4\] over 20 paired items/);
    expect(io.out()).toMatch(/sampling\.temperature: 0\.6 → 0/);
    const bad = captureIO();
    writeFileSync(path.join(root, "junk.json"), "{}");
    expect(await main(["eval", "compare", a, path.join(root, "junk.json")], bad)).toBe(1);
    expect(bad.err()).toMatch(/is not a squint eval report: .* \(INVALID_ARGUMENT\)/);
  });
});
