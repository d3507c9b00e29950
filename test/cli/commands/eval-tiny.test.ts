import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvalReport } from "../../../src/eval/report.js";
import { RANDOM_WEIGHTS_WARNING } from "../../../src/eval/report.js";
import type { Backend } from "../../../src/runtime/backend.js";
import { syntheticPhoto } from "../../agent/fixtures.js";
import { startTinyServer, type TinyServer } from "../../eval/openai-server.js";
import { runSquint } from "../../support/cli.js";

/**
 * The harness end to end on a tiny random checkpoint, through the in-process engine and through a loopback
 * OpenAI-compatible server running the same model. Random weights answer nothing: these runs check that the
 * harness goes to the end with every figure present and says the accuracy is meaningless — never a score.
 */

async function tinyModelDir(): Promise<string> {
  const { tinyBuilt } = await import("../../runtime/local/engine-fixture.js");
  const { checkpoint, built } = await tinyBuilt("fp32");
  // A built directory that also carries the checkpoint's config and tokenizer (as in test/cli/commands/ask.test.ts).
  const model = mkdtempSync(path.join(tmpdir(), "squint-eval-model-"));
  for (const name of readdirSync(built)) symlinkSync(path.join(built, name), path.join(model, name));
  const taken = new Set(readdirSync(built));
  for (const name of readdirSync(checkpoint).filter((name) => !name.endsWith(".safetensors") && !taken.has(name))) {
    symlinkSync(path.join(checkpoint, name), path.join(model, name));
  }
  return model;
}

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
  let backend: Backend;
  let server: TinyServer;

  beforeAll(async () => {
    model = await tinyModelDir();
    suite = await everyKindSuite();
    const { createLocalBackend } = await import("../../../src/runtime/local/index.js");
    backend = await createLocalBackend({ model });
    server = await startTinyServer(backend, "squint-tiny-random");
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await backend?.close();
  });

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

  it("through a loopback OpenAI-compatible server running the same model", async () => {
    const out = path.join(path.dirname(suite), "remote");
    mkdirSync(out, { recursive: true });
    const run = await runSquint([
      "eval",
      suite,
      "--base-url",
      server.baseUrl,
      "--model-name",
      "squint-tiny-random",
      "--random-weights",
      "--max-pixels",
      "200704",
      "--out",
      out,
      ...FLAGS,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, "report.json"), "utf8")) as EvalReport;
    expectEveryFigure(report);
    expect(report.knobs.model.backend).toMatch(/^remote:/);
    expect(report.knobs.maxPixels).toBe(200_704);
    // Direct: one request per item; loop: at least one per item.
    expect(server.requests).toBeGreaterThanOrEqual(10);
  }, 240_000);
});
