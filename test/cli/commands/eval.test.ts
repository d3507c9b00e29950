import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evalWithBackend, parseEvalArgs } from "../../../src/cli/commands/eval.js";
import { main } from "../../../src/cli/main.js";
import type { EvalReport } from "../../../src/eval/report.js";
import { readResults } from "../../../src/eval/results-log.js";
import { captureIO, controlledBackend, writeChoiceSuite } from "../../eval/fixtures.js";
import { repoRoot } from "../../support/cli.js";
import { directRight, loopRight } from "./eval-answers.js";

const readReport = (dir: string) => JSON.parse(readFileSync(path.join(dir, "report.json"), "utf8")) as EvalReport;

function expectHandComputedFigures(report: EvalReport) {
  expect(report.overall.loop?.accuracy).toMatchObject({ k: 16, n: 20, value: 0.8 });
  expect(report.overall.direct?.accuracy).toMatchObject({ k: 12, n: 20, value: 0.6 });
  const paired = report.paired?.overall;
  expect(paired?.table).toEqual({ a: 10, b: 6, c: 2, d: 2 });
  expect(paired?.difference).toBeCloseTo(0.2, 12);
  // The hand computation in test/eval/stats.test.ts.
  expect(paired?.interval?.low).toBeCloseTo(-0.067404, 5);
  expect(paired?.interval?.high).toBeCloseTo(0.433647, 5);
}

describe("squint eval on a scripted backend", () => {
  it("a known fraction right gives exactly that accuracy; loop − direct and its interval; every figure", async () => {
    const { dir, file } = await writeChoiceSuite(20);
    const out = path.join(dir, "report");
    const backend = controlledBackend(loopRight, directRight);
    const io = captureIO();
    const code = await evalWithBackend(
      backend,
      parseEvalArgs([file, "--out", out, "--concurrency", "4", "--max-steps", "3"]),
      io,
    );
    expect(code).toBe(0);
    const report = readReport(out);
    expectHandComputedFigures(report);
    expect(report.complete).toBe(true);
    // Per category: even items 0,2,…,18: loop right on 0–14 (8 of 10), direct on 0–8 and 16 (6 of 10).
    expect(report.categories.even?.loop?.accuracy).toMatchObject({ k: 8, n: 10 });
    expect(report.categories.even?.direct?.accuracy).toMatchObject({ k: 6, n: 10 });
    expect(report.categories.odd?.loop?.accuracy).toMatchObject({ k: 8, n: 10 });
    expect(report.categories.odd?.direct?.accuracy).toMatchObject({ k: 6, n: 10 });
    // Cost figures: the loop zoomed once and answered (2 turns, 1 call); direct asked once.
    const loop = report.overall.loop;
    const direct = report.overall.direct;
    expect(loop?.turns?.mean).toBe(2);
    expect(loop?.toolCalls?.mean).toBe(1);
    expect(loop?.toolCallsByName).toEqual({ image_zoom_in_tool: 20 });
    expect(direct?.turns?.mean).toBe(1);
    expect(direct?.toolCalls?.mean).toBe(0);
    expect(loop?.parseFailures).toBe(0);
    for (const summary of [loop, direct]) {
      expect(summary?.visualTokens?.mean).toBeGreaterThan(0);
      expect(summary?.inputTokens?.mean).toBeGreaterThan(0);
      expect(summary?.outputTokens?.mean).toBeGreaterThan(0);
      expect(summary?.latencyMs?.total).toBeGreaterThan(0);
    }
    // The loop holds the original and a crop: more visual tokens per item than the one image of direct.
    expect(loop?.visualTokens?.mean ?? 0).toBeGreaterThan(direct?.visualTokens?.mean ?? 0);
    // Pinned knobs.
    expect(report.knobs.model.backend).toBe("scripted");
    expect(report.knobs.maxSteps).toBe(3);
    expect(report.knobs.sampling.temperature).toBe(0.6);
    expect(report.knobs.sampling.seed).toBe(1234);
    expect(report.knobs.promptTemplateHash).toMatch(/^[0-9a-f]{16}$/);
    expect(report.knobs.minPixels).toBe(65_536);
    // The summary on stdout, the HTML beside the JSON, every (item, mode) once in the results.
    expect(io.out()).toMatch(/overall\s+loop\s+20\s+80\.0%\s+\[58\.4, 91\.9\]/);
    expect(io.out()).toMatch(/loop − direct: \+20\.0 pts, 95% CI \[−6\.7, \+43\.4\]/);
    expect(existsSync(path.join(out, "report.html"))).toBe(true);
    expect(readResults(path.join(out, "results.jsonl")).records).toHaveLength(40);
    // The scripted model saw the options and the letter instruction.
    expect(backend.prompts[0]).toContain("A. red\nB. green\nC. blue\nD. yellow\nAnswer with the option's letter");
  });

  it("resumes after the process is killed mid-run, running only what is missing", async () => {
    const { dir, file } = await writeChoiceSuite(20);
    const out = path.join(dir, "report");
    const results = path.join(out, "results.jsonl");
    const child = spawn(process.execPath, ["--import", "tsx", "test/cli/commands/eval-child.ts", file, out, "30"], {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("close", (_code, signal) => resolve(signal)),
    );
    // Kill it once a few item runs are on disk.
    const recorded = () => (existsSync(results) ? readFileSync(results, "utf8").split("\n").length - 2 : 0);
    const deadline = Date.now() + 60_000;
    while (recorded() < 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const before = readResults(results).records;
    expect(before.length, stderr).toBeGreaterThanOrEqual(6);
    expect(before.length).toBeLessThan(40);
    expect(existsSync(path.join(out, "report.json"))).toBe(false);
    // A kill can tear the last line: simulate the worst case.
    appendFileSync(results, '{"kind":"item","id":"item-1');

    const backend = controlledBackend(loopRight, directRight);
    const io = captureIO();
    expect(await evalWithBackend(backend, parseEvalArgs([file, "--out", out]), io)).toBe(0);
    const after = readResults(results).records;
    expect(after).toHaveLength(40);
    expect(new Set(after.map((record) => `${record.mode}:${record.id}`)).size).toBe(40);
    // Only the missing runs reached the model: one request per direct run, two per loop run.
    const done = new Set(before.map((record) => `${record.mode}:${record.id}`));
    const missingLoop = 20 - before.filter((record) => record.mode === "loop").length;
    const missingDirect = 20 - before.filter((record) => record.mode === "direct").length;
    expect(backend.requests).toHaveLength(2 * missingLoop + missingDirect);
    expect(done.size).toBe(before.length);
    expectHandComputedFigures(readReport(out));
    expect(io.err()).toMatch(/resumed/);
  }, 90_000);

  it("--limit and --mode loop run only those; a terminal gets a progress bar rewritten in place", async () => {
    const { dir, file } = await writeChoiceSuite(4);
    const out = path.join(dir, "report");
    const io = captureIO(true);
    const backend = controlledBackend(loopRight, directRight);
    expect(
      await evalWithBackend(backend, parseEvalArgs([file, "--out", out, "--limit", "2", "--mode", "loop"]), io),
    ).toBe(0);
    const report = readReport(out);
    expect(report.modes).toEqual(["loop"]);
    expect(report.records.map((record) => record.id)).toEqual(["item-0", "item-1"]);
    expect(report.paired).toBeNull();
    expect(backend.requests).toHaveLength(4);
    expect(io.err()).toContain("\r\x1b[2K[------------------------] 0/2");
    expect(io.err()).toContain("\r\x1b[2K[########################] 2/2 · 2/2 right this session");
  });

  it("an item whose image is not an image is recorded as failed with its error, and the run goes on", async () => {
    const { dir, file } = await writeChoiceSuite(3);
    writeFileSync(path.join(dir, "broken.png"), "not an image at all");
    const lines = readFileSync(file, "utf8").trim().split("\n");
    lines[1] = (lines[1] as string).replace('"photo.png"', '"broken.png"');
    writeFileSync(file, `${lines.join("\n")}\n`);
    const out = path.join(dir, "report");
    const io = captureIO();
    expect(
      await evalWithBackend(controlledBackend(loopRight, directRight), parseEvalArgs([file, "--out", out]), io),
    ).toBe(0);
    const report = readReport(out);
    expect(report.recorded).toBe(6);
    const broken = report.records.filter((record) => record.id === "item-1");
    expect(broken.map((record) => [record.mode, record.status, record.correct, record.error?.code])).toEqual([
      ["loop", "failed", false, "IMAGE_UNSUPPORTED"],
      ["direct", "failed", false, "IMAGE_UNSUPPORTED"],
    ]);
    expect(report.overall.loop?.unanswered).toBe(1);
    expect(report.overall.loop?.accuracy).toMatchObject({ k: 2, n: 3 });
  });

  it("Ctrl-C stops the run cleanly: an unfinished report, exit 1, and the hint to rerun", async () => {
    const { dir, file } = await writeChoiceSuite(20);
    const out = path.join(dir, "report");
    const results = path.join(out, "results.jsonl");
    const child = spawn(process.execPath, ["--import", "tsx", "test/cli/commands/eval-child.ts", file, out, "30"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const recorded = () => (existsSync(results) ? readFileSync(results, "utf8").split("\n").length - 2 : 0);
    const deadline = Date.now() + 60_000;
    while (recorded() < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill("SIGINT");
    expect(await exited, stderr).toBe(1);
    expect(existsSync(path.join(out, "report.json")), stderr).toBe(true);
    const report = readReport(out);
    expect(report.complete).toBe(false);
    expect(report.recorded).toBeLessThan(40);
    expect(report.warnings.join("\n")).toMatch(/The run is unfinished: \d+ of 40/);
    expect(stdout).toMatch(/warning: The run is unfinished/);
    // Items attach their listeners to their own signals, not the run's: no pile-up warning.
    expect(stderr).not.toMatch(/MaxListenersExceededWarning|triggerUncaughtException/);
    expect(stderr).toMatch(
      /interrupted \(Ctrl-C\).*\(ABORTED\) — The results so far are kept; run the same command again/,
    );
  }, 90_000);

  it("refuses to continue a run with different pinned knobs", async () => {
    const { dir, file } = await writeChoiceSuite(2);
    const out = path.join(dir, "report");
    const io = captureIO();
    await evalWithBackend(controlledBackend(loopRight, directRight), parseEvalArgs([file, "--out", out]), io);
    await expect(
      evalWithBackend(
        controlledBackend(loopRight, directRight),
        parseEvalArgs([file, "--out", out, "--temperature", "0"]),
        io,
      ),
    ).rejects.toThrow(/other settings:\n {2}sampling\.temperature: 0\.6 → 0/);
  });

  it("reports every bad suite line with its line number, before any model loads", async () => {
    const { dir } = await writeChoiceSuite(1);
    const file = path.join(dir, "bad.jsonl");
    writeFileSync(
      file,
      [
        JSON.stringify({
          id: "ok",
          image: "photo.png",
          question: "q?",
          options: ["a", "b"],
          truth: { type: "choice", answer: "A" },
        }),
        "{not json",
        JSON.stringify({
          id: "ok",
          image: "photo.png",
          question: "q?",
          options: ["a", "b"],
          truth: { type: "choice", answer: "B" },
        }),
        JSON.stringify({ id: "c", image: "missing.png", question: "q?", truth: { type: "text", answers: ["x"] } }),
        "",
        JSON.stringify({ id: "d", image: "photo.png", question: "q?", truth: { type: "box", boxes: [[5, 5, 1, 1]] } }),
        JSON.stringify({
          id: "e",
          image: "photo.png",
          question: "q?",
          options: ["a", "b"],
          truth: { type: "choice", answer: "C" },
        }),
        JSON.stringify({ id: "f", image: "photo.png", question: "q?", truth: { type: "guess" } }),
        JSON.stringify({
          id: "g",
          image: "photo.png",
          question: "q?",
          truth: { type: "text", answers: ["x"] },
          colour: 1,
        }),
      ].join("\n"),
    );
    const io = captureIO();
    const code = await main(["eval", file, "--model", "/nowhere"], io);
    expect(code).toBe(1);
    const err = io.err();
    expect(err).toMatch(/The suite has 7 bad lines/);
    expect(err).toMatch(/bad\.jsonl:2: not JSON/);
    expect(err).toMatch(/bad\.jsonl:3: id "ok" is already used at .*bad\.jsonl:1/);
    expect(err).toMatch(/bad\.jsonl:4: image not found: missing\.png/);
    expect(err).toMatch(/bad\.jsonl:6: truth\.boxes\.0: a box is \[x1, y1, x2, y2\]/);
    expect(err).toMatch(/bad\.jsonl:7: truth\.answer: answer C is past the 2 options/);
    expect(err).toMatch(/bad\.jsonl:8: truth\.type: /);
    expect(err).toMatch(/bad\.jsonl:9: .*colour/);
    expect(err).not.toMatch(/bad\.jsonl:1:/);
    // The model was never loaded: the error is the suite's, not "/nowhere".
    expect(err).not.toMatch(/nowhere/);
  });
});
