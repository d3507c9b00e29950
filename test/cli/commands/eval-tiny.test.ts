import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { EvalReport } from "../../../src/eval/report.js";
import { RANDOM_WEIGHTS_WARNING } from "../../../src/eval/report.js";
import { syntheticPhoto } from "../../agent/fixtures.js";
import { type SpawnedServe, spawnServe } from "../../http/harness.js";
import { tinyServeModel } from "../../http/tiny-model.js";
import { runSquint } from "../../support/cli.js";

/**
 * The harness end to end on a tiny random checkpoint, through the in-process engine and through a loopback
 * OpenAI-compatible server running the same model (`squint serve`). Random weights answer nothing: these runs check that the
 * harness goes to the end with every figure present and says the accuracy is meaningless — never a score.
 */

/** One item of every truth kind over one small image (256×256: 64 visual tokens, so CPU prefill stays short). */
async function everyKindSuite(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), "squint-eval-tiny-"));
  writeFileSync(path.join(dir, "photo.png"), await syntheticPhoto(256, 256));
  const items = [
    {
      id: "choice",
      question: "What colour is the block?",
      options: ["red", "green"],
      truth: { type: "choice", answer: "A" },
    },
    { id: "text", question: "What colour is the block?", truth: { type: "text", answers: ["red"] } },
    { id: "box", question: "Locate the red block.", truth: { type: "box", boxes: [[128, 77, 154, 128]] } },
    { id: "point", question: "Click the red block.", truth: { type: "point", boxes: [[128, 77, 154, 128]] } },
    { id: "words", question: "Read the text.", truth: { type: "words", words: ["none", "here"] } },
  ].map((item, i) =>
    JSON.stringify({ ...item, image: "photo.png", category: i < 2 ? "answer" : i < 4 ? "ground" : "read" }),
  );
  const file = path.join(dir, "suite.jsonl");
  writeFileSync(file, `${items.join("\n")}\n`);
  return file;
}

const FLAGS = ["--mode", "both", "--max-new-tokens", "6", "--max-steps", "1", "--tools", "image_zoom_in_tool"];

function expectEveryFigure(report: EvalReport) {
  expect(report.complete).toBe(true);
  expect(report.recorded).toBe(10);
  for (const mode of ["loop", "direct"] as const) {
    const summary = report.overall[mode];
    expect(summary?.n).toBe(5);
    expect(summary?.accuracy.interval).not.toBeNull();
    expect(summary?.turns?.mean).toBeGreaterThanOrEqual(1);
    expect(summary?.visualTokens?.mean).toBeGreaterThan(0);
    expect(summary?.inputTokens?.mean).toBeGreaterThan(0);
    expect(summary?.outputTokens?.mean).toBeGreaterThan(0);
    expect(summary?.latencyMs?.mean).toBeGreaterThan(0);
  }
  expect(Object.keys(report.categories).sort()).toEqual(["answer", "ground", "read"]);
  expect(report.paired?.overall.n).toBe(5);
  for (const record of report.records) {
    expect(typeof record.correct).toBe("boolean");
    expect(typeof record.parseFailure).toBe("boolean");
    expect(record.outputTokens).toBeLessThanOrEqual(6 * record.turns);
  }
  expect(report.knobs.model.randomWeights).toBe(true);
  expect(report.warnings[0]).toBe(RANDOM_WEIGHTS_WARNING);
}

describe("squint eval on a tiny random checkpoint", () => {
  let model: string;
  let suite: string;

  beforeAll(async () => {
    // One folder with the graphs and the checkpoint's config and tokenizer (what --model DIR loads).
    ({ modelDir: model } = await tinyServeModel());
    suite = await everyKindSuite();
  }, 240_000);

  it("through the in-process engine: runs to the end, every figure present, and says accuracy means nothing", async () => {
    const out = path.join(path.dirname(suite), "local");
    const run = await runSquint(["eval", suite, "--model", model, "--out", out, ...FLAGS]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, "report.json"), "utf8")) as EvalReport;
    expectEveryFigure(report);
    expect(report.knobs.model.backend).toMatch(/^local:/);
    expect(run.stdout).toContain(`warning: ${RANDOM_WEIGHTS_WARNING}`);
    expect(readFileSync(path.join(out, "report.html"), "utf8")).toContain("random weights (a tiny test checkpoint)");
  }, 240_000);

  it("through `squint serve --model` (the project's own OpenAI-compatible server) on the same model", async () => {
    const out = path.join(path.dirname(suite), "serve");
    let served: SpawnedServe | undefined;
    try {
      served = await spawnServe(["--model", model, "--model-name", "tiny-qwen3-vl", "--max-output-tokens", "64"]);
      const run = await runSquint([
        "eval",
        suite,
        "--base-url",
        `${served.url}/v1`,
        "--model-name",
        "tiny-qwen3-vl",
        "--random-weights",
        "--max-pixels",
        "200704",
        "--out",
        out,
        ...FLAGS,
      ]);
      expect(run.code, `${run.stderr}\n${served.stderr()}`).toBe(0);
      const report = JSON.parse(readFileSync(path.join(out, "report.json"), "utf8")) as EvalReport;
      expectEveryFigure(report);
      expect(report.knobs.model.backend).toMatch(/^remote:/);
      expect(report.knobs.maxPixels).toBe(200_704);
      expect(run.stdout).toContain(`warning: ${RANDOM_WEIGHTS_WARNING}`);
    } finally {
      await served?.stop();
    }
  }, 240_000);
});
