import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import type { SquintTool } from "../../tools/tool.js";
import type { Backend } from "../../runtime/backend.js";
import type { CliIO, Command } from "../command.js";
import {
  backendOptions,
  type ModelFlags,
  modelFlagOptions,
  modelFlagsUsage,
  outputTokenFlagOptions,
  outputTokenFlagUsage,
  readMaxOutputTokens,
  readModelFlags,
  stderrProgress,
  usesServer,
} from "../model-flags.js";

/**
 * `squint eval <suite> [options]`: runs a suite in loop mode (the agent with its tools), direct mode (one
 * question, no tools) or both, writes `<out>/results.jsonl` (append-only, so a rerun continues a killed run),
 * `<out>/report.json` and `<out>/report.html`, and prints the summary. `squint eval compare A B` sets two
 * reports side by side.
 */

const usage = `Usage: squint eval <suite.jsonl | suite-dir> [options]
       squint eval compare <report A> <report B>

Runs an eval suite through the agent loop and/or a direct question, and reports accuracy (with n and a 95%
Wilson interval), turns, tool calls, visual tokens, input/output tokens and latency, overall and per category.

Model (one of; default: Qwen/Qwen3-VL-2B-Thinking (int4), once pulled):
${modelFlagsUsage}
  --model-revision REV the model's revision or commit, recorded in the report (a pulled Hub id knows its own)
  --random-weights     the model is a random test checkpoint (tiny checkpoints are recognised by themselves)
  --min-pixels N, --max-pixels N  the server's image pixel budget, as vLLM was started with it
                       (--mm-processor-kwargs); recorded in the report and used to count visual tokens

Run:
  --mode loop|direct|both  loop: the agent with tools; direct: one question, no tools; both (default): both,
                       and the paired loop − direct difference with its 95% interval
  --out DIR            report directory (default: eval-report/<suite name>); rerun to resume
  --concurrency N      items run at once (default 1)
  --limit N            only the first N items
  --max-steps N        tool-using turns in the loop (default 8)
${outputTokenFlagUsage}
  --max-visual-tokens N  visual tokens the loop's conversation may hold (default 24576)
  --temperature T      sampling temperature (default: the model card's evaluation setting)
  --seed N             sampling seed (default: the model card's evaluation seed)
  --tools A,B          the loop's built-in tools (default: all)
  --json               print report.json instead of the summary
`;

const positiveInt = (flag: string) =>
  z
    .string()
    .regex(/^\d+$/, `${flag} takes a whole number`)
    .transform(Number)
    .pipe(z.number().int().positive(`${flag} must be greater than zero`));

const argsSchema = z.object({
  suite: z.string().min(1, "give a suite file or directory"),
  modelRevision: z.string().optional(),
  randomWeights: z.boolean(),
  minPixels: positiveInt("--min-pixels").optional(),
  maxPixels: positiveInt("--max-pixels").optional(),
  mode: z.enum(["loop", "direct", "both"], { error: "--mode is loop, direct or both" }),
  out: z.string().optional(),
  concurrency: positiveInt("--concurrency").optional(),
  limit: positiveInt("--limit").optional(),
  maxSteps: positiveInt("--max-steps").optional(),
  maxVisualTokens: positiveInt("--max-visual-tokens").optional(),
  temperature: z
    .string()
    .regex(/^\d+(\.\d+)?$/, "--temperature takes a number ≥ 0")
    .transform(Number)
    .optional(),
  seed: z
    .string()
    .regex(/^-?\d+$/, "--seed takes a whole number")
    .transform(Number)
    .optional(),
  tools: z
    .string()
    .transform((text) =>
      text
        .split(",")
        .map((name) => name.trim())
        .filter(Boolean),
    )
    .optional(),
  json: z.boolean(),
});

export type EvalArgs = z.infer<typeof argsSchema> & ModelFlags & { maxOutputTokens?: number | undefined };

const EVAL_HINT =
  "Write: squint eval suites/needle --base-url http://127.0.0.1:8000/v1 --model-name Qwen/Qwen3-VL-8B-Thinking";

export function parseEvalArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): EvalArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...modelFlagOptions,
      "model-revision": { type: "string" },
      "random-weights": { type: "boolean", default: false },
      "min-pixels": { type: "string" },
      "max-pixels": { type: "string" },
      mode: { type: "string", default: "both" },
      out: { type: "string" },
      concurrency: { type: "string" },
      limit: { type: "string" },
      "max-steps": { type: "string" },
      ...outputTokenFlagOptions,
      "max-visual-tokens": { type: "string" },
      temperature: { type: "string" },
      seed: { type: "string" },
      tools: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  if (positionals.length > 1) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `eval takes one suite, got ${positionals.length}: ${positionals.join(" ")}`,
      {
        hint: "Give one .jsonl file or one directory of them.",
      },
    );
  }
  const parsed = argsSchema.safeParse({
    suite: positionals[0] ?? "",
    modelRevision: values["model-revision"],
    randomWeights: values["random-weights"],
    minPixels: values["min-pixels"],
    maxPixels: values["max-pixels"],
    mode: values.mode,
    out: values.out,
    concurrency: values.concurrency,
    limit: values.limit,
    maxSteps: values["max-steps"],
    maxVisualTokens: values["max-visual-tokens"],
    temperature: values.temperature,
    seed: values.seed,
    tools: values.tools,
    json: values.json,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SquintError("INVALID_ARGUMENT", `${issue?.path.join(".") || "arguments"}: ${issue?.message}`, {
      hint: EVAL_HINT,
    });
  }
  const maxOutputTokens = readMaxOutputTokens(values, EVAL_HINT);
  const args: EvalArgs = {
    ...parsed.data,
    ...readModelFlags(values, env, EVAL_HINT),
    ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }),
  };
  if (!usesServer(args) && (args.minPixels !== undefined || args.maxPixels !== undefined)) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      "--min-pixels and --max-pixels describe a server: use them with --base-url.",
      {
        hint: "A local model reads its pixel budget from its own preprocessor_config.json.",
      },
    );
  }
  return args;
}

/** Hidden sizes below this exist only in test checkpoints (Qwen3-VL's smallest, 2B, has 2048). */
const TEST_HIDDEN_SIZE = 512;

/** Whether a local model directory is a tiny random test checkpoint (`squint models make-tiny`). */
export function isTinyTestModel(model: string | undefined): boolean {
  if (!model) return false;
  const config = path.join(model, "config.json");
  if (!existsSync(config)) return false;
  try {
    const json = JSON.parse(readFileSync(config, "utf8")) as { text_config?: { hidden_size?: unknown } };
    const hidden = json.text_config?.hidden_size;
    return typeof hidden === "number" && hidden < TEST_HIDDEN_SIZE;
  } catch {
    return false;
  }
}

async function modelRevision(args: EvalArgs): Promise<string | null> {
  if (args.modelRevision) return args.modelRevision;
  if (!args.model) return null;
  const { isHubId, storePaths } = await import("../../runtime/models/store-paths.js");
  if (!isHubId(args.model) || existsSync(args.model)) return null;
  const { pulledCommit } = await import("../../runtime/models/resolve-model.js");
  return pulledCommit(storePaths(), args.model, "main") ?? null;
}

async function pickTools(names: string[] | undefined): Promise<readonly SquintTool[] | undefined> {
  if (!names) return undefined;
  const { builtinTools } = await import("../../tools/index.js");
  const all = builtinTools();
  if (names.length === 1 && names[0] === "none") return [];
  const unknown = names.filter((name) => !all.some((tool) => tool.name === name));
  if (unknown.length > 0) {
    throw new SquintError("INVALID_ARGUMENT", `No built-in tool named ${unknown.join(", ")}.`, {
      hint: `The built-in tools are: ${all.map((tool) => tool.name).join(", ")}.`,
    });
  }
  return all.filter((tool) => names.includes(tool.name));
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s` : `${seconds}s`;
}

/** A one-line bar rewritten in place on a terminal; a line per tenth of the run in a log. */
function progressPrinter(io: CliIO) {
  const started = performance.now();
  let right = 0;
  let lastTenth = -1;
  let ran = 0;
  return {
    update(progress: import("../../eval/runner.js").EvalProgress) {
      if (progress.last) {
        ran++;
        if (progress.last.correct) right++;
      }
      const elapsed = performance.now() - started;
      const perItem = ran > 0 ? elapsed / ran : 0;
      const left = progress.total - progress.done;
      const eta = ran > 0 ? ` · eta ${formatDuration(perItem * left)}` : "";
      const text = `${progress.done}/${progress.total}${progress.resumed ? ` (${progress.resumed} resumed)` : ""} · ${right}/${ran} right this session${eta}`;
      if (io.isTTY) {
        const width = 24;
        const filled = progress.total === 0 ? width : Math.round((progress.done / progress.total) * width);
        io.stderr.write(`\r\x1b[2K[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${text}`);
        if (progress.done === progress.total) io.stderr.write("\n");
        return;
      }
      const tenth = progress.total === 0 ? 10 : Math.floor((progress.done / progress.total) * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        io.stderr.write(`eval: ${text}\n`);
      }
    },
    finish() {
      if (io.isTTY) io.stderr.write("\n");
    },
  };
}

/** Runs `squint eval` with a given backend (the command picks it; tests pass a scripted one). */
export async function evalWithBackend(backend: Backend, args: EvalArgs, io: CliIO): Promise<number> {
  const { loadSuite } = await import("../../eval/suite.js");
  const { runEval } = await import("../../eval/runner.js");
  const { buildReport, formatReport } = await import("../../eval/report.js");
  const { renderReportHtml } = await import("../../eval/report-html.js");
  const { resolveSampling, thinkingEvalSampling, instructEvalSampling } = await import("../../model/sampling.js");
  const suite = loadSuite(args.suite);
  const thinking = backend.info.thinking;
  const sampling = resolveSampling(thinking, {
    ...(thinking ? thinkingEvalSampling : instructEvalSampling),
    ...(args.temperature === undefined ? {} : { temperature: args.temperature }),
    ...(args.seed === undefined ? {} : { seed: args.seed }),
  });
  const modes = args.mode === "both" ? (["loop", "direct"] as const) : ([args.mode] as const);
  const outDir = args.out ?? path.join("eval-report", path.basename(suite.path).replace(/\.jsonl$/, ""));
  const tools = await pickTools(args.tools);
  const controller = new AbortController();
  const onSigint = () => controller.abort(new SquintError("ABORTED", "interrupted (Ctrl-C)"));
  process.once("SIGINT", onSigint);
  const progress = progressPrinter(io);
  try {
    const run = await runEval({
      suite,
      modes: [...modes],
      backend,
      sampling,
      model: {
        id: args.model ?? args.modelName ?? backend.info.name,
        revision: await modelRevision(args),
        randomWeights: args.randomWeights || isTinyTestModel(args.model),
      },
      maxSteps: args.maxSteps ?? 8,
      maxNewTokens: args.maxOutputTokens ?? null,
      maxVisualTokens: args.maxVisualTokens ?? 24_576,
      ...(tools ? { tools } : {}),
      outDir,
      ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
      ...(args.limit === undefined ? {} : { limit: args.limit }),
      onProgress: (state) => progress.update(state),
      signal: controller.signal,
    });
    const choiceOptions = new Map(suite.items.map((item) => [item.id, item.options?.length ?? 0]));
    const report = buildReport({
      header: run.header,
      records: run.records,
      modes: [...modes],
      expected: run.total,
      choiceOptions,
    });
    writeFileSync(path.join(outDir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(path.join(outDir, "report.html"), renderReportHtml(report));
    io.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    if (!args.json) io.stderr.write(`report written to ${path.join(outDir, "report.html")}\n`);
    if (run.stoppedBy) {
      io.stderr.write(`squint eval: ${run.stoppedBy.message} (${run.stoppedBy.code}) — ${run.stoppedBy.hint ?? ""}\n`);
      return 1;
    }
    return 0;
  } finally {
    progress.finish();
    process.removeListener("SIGINT", onSigint);
    const { closeDefaultOcrEngine } = await import("../../tools/ocr/ocr-tool.js");
    await closeDefaultOcrEngine();
  }
}

async function compare(argv: string[], io: CliIO): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
  if (positionals.length !== 2) {
    throw new SquintError("INVALID_ARGUMENT", "compare takes two reports.", {
      hint: "Write: squint eval compare eval-report/a eval-report/b (directories or report.json files).",
    });
  }
  const { compareReports, formatComparison, loadReport } = await import("../../eval/compare.js");
  const comparison = compareReports(loadReport(positionals[0] as string), loadReport(positionals[1] as string));
  io.stdout.write(values.json ? `${JSON.stringify(comparison, null, 2)}\n` : formatComparison(comparison));
  return 0;
}

export const evalCommand: Command = {
  name: "eval",
  summary: "run an eval suite: accuracy, turns, tokens, latency; loop vs direct",
  usage,
  async run(argv, io) {
    if (argv[0] === "compare") return compare(argv.slice(1), io);
    const args = parseEvalArgs(argv);
    // A bad suite is reported before any model is loaded.
    const { loadSuite } = await import("../../eval/suite.js");
    loadSuite(args.suite);
    const { createBackend } = await import("../../runtime/create-backend.js");
    const backend = await createBackend({
      ...backendOptions(args),
      ...(args.minPixels === undefined ? {} : { minPixels: args.minPixels }),
      ...(args.maxPixels === undefined ? {} : { maxPixels: args.maxPixels }),
      onProgress: stderrProgress(io),
    });
    try {
      return await evalWithBackend(backend, args, io);
    } finally {
      await backend.close();
    }
  },
};
