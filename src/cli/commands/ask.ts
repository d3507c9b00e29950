import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { z } from "zod";
import type { CreateAgentOptions } from "../../agent/options.js";
import type { AgentResult } from "../../agent/run.js";
import type { AgentEvent } from "../../agent/events.js";
import { SquintError } from "../../errors.js";
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
} from "../model-flags.js";
import { TerminalTextStream, terminalSafe } from "../terminal-text.js";

/**
 * `squint ask <image...> "question"`: runs the agent on the images and streams what happens — the reasoning
 * (dimmed on a terminal), one line per tool call, then the answer. `--json` prints the result and the trace as
 * one JSON object instead; `--trace run.html` writes the self-contained HTML report.
 */

const usage = `Usage: squint ask <image...> "question" [options]

Asks Qwen3-VL a question about one or more images; the model may zoom into them before it answers.

Model (one of; default: Qwen/Qwen3-VL-2B-Thinking (int4), after \`squint models pull\`):
${modelFlagsUsage}

Options:
  --max-steps N        tool-using turns before the model must answer (default 8)
  --max-visual-tokens N  visual tokens the conversation may hold (default 24576)
${outputTokenFlagUsage}
  --timeout SECONDS    wall time for the whole run (default 600)
  --tools A,B          only these built-in tools (default: all; "none" for none)
  --mcp FILE           more tools from the MCP servers in this mcp.json
  --json               print the result and the trace as JSON
  --trace FILE         write an HTML report of the run
`;

const positiveInt = (flag: string) =>
  z
    .string()
    .regex(/^\d+$/, `${flag} takes a whole number`)
    .transform(Number)
    .pipe(z.number().int().positive(`${flag} must be greater than zero`));

const argsSchema = z.object({
  images: z.array(z.string().min(1)).min(1, "give at least one image"),
  question: z.string().trim().min(1, "give a question after the images"),
  maxSteps: positiveInt("--max-steps").optional(),
  maxVisualTokens: positiveInt("--max-visual-tokens").optional(),
  timeout: positiveInt("--timeout").optional(),
  tools: z
    .string()
    .transform((text) =>
      text
        .split(",")
        .map((name) => name.trim())
        .filter(Boolean),
    )
    .optional(),
  mcp: z.string().optional(),
  json: z.boolean(),
  trace: z.string().optional(),
});

export type AskArgs = z.infer<typeof argsSchema> & ModelFlags & { maxOutputTokens?: number | undefined };

const ASK_HINT = 'Write: squint ask photo.jpg "What does the sign say?" --base-url http://127.0.0.1:8000/v1';

export function parseAskArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): AskArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...modelFlagOptions,
      "max-steps": { type: "string" },
      "max-visual-tokens": { type: "string" },
      ...outputTokenFlagOptions,
      timeout: { type: "string" },
      tools: { type: "string" },
      mcp: { type: "string" },
      json: { type: "boolean", default: false },
      trace: { type: "string" },
    },
  });
  const parsed = argsSchema.safeParse({
    images: positionals.slice(0, -1),
    question: positionals.at(-1) ?? "",
    maxSteps: values["max-steps"],
    maxVisualTokens: values["max-visual-tokens"],
    timeout: values.timeout,
    tools: values.tools,
    mcp: values.mcp,
    json: values.json,
    trace: values.trace,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SquintError("INVALID_ARGUMENT", `${issue?.path.join(".") || "arguments"}: ${issue?.message}`, {
      hint: ASK_HINT,
    });
  }
  const maxOutputTokens = readMaxOutputTokens(values, ASK_HINT);
  return {
    ...parsed.data,
    ...readModelFlags(values, env, ASK_HINT),
    ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }),
  };
}

const dim = (text: string, tty: boolean) => (tty ? `\x1b[2m${text}\x1b[22m` : text);

/** How often a line on stderr says how a long generation is going. */
const PROGRESS_INTERVAL_MS = 5000;

/**
 * Generation speed on stderr, so a slow model is visibly working: while a turn streams, a line every
 * PROGRESS_INTERVAL_MS with the pieces streamed so far and their rate (a streamed piece is about one
 * token); when the turn ends, the exact count the backend reports and tokens/s.
 */
export function generationProgress(
  io: CliIO,
  now: () => number = performance.now.bind(performance),
  /** Called before each progress line: ends the model text's open line when both go to one terminal. */
  beforeLine: () => void = () => {},
): (event: AgentEvent) => void {
  let started = 0;
  let lastLine = 0;
  let pieces = 0;
  return (event) => {
    if (event.type === "start-step") {
      started = now();
      lastLine = started;
      pieces = 0;
    } else if (event.type === "reasoning-delta" || event.type === "text-delta") {
      pieces++;
      const t = now();
      if (t - lastLine >= PROGRESS_INTERVAL_MS) {
        lastLine = t;
        const rate = (pieces * 1000) / Math.max(1, t - started);
        beforeLine();
        io.stderr.write(dim(`… turn ${event.step}: ~${pieces} tokens, ${rate.toFixed(1)} tokens/s\n`, io.isTTY));
      }
    } else if (event.type === "finish-step") {
      // A server that streams no usage reports 0 tokens; a "0 tokens/s" line would be wrong, not just dull.
      if (event.outputTokens === 0) return;
      const rate = (event.outputTokens * 1000) / Math.max(1, event.modelMs);
      beforeLine();
      io.stderr.write(
        dim(
          `turn ${event.step}: ${event.outputTokens} tokens in ${(event.modelMs / 1000).toFixed(1)} s (${rate.toFixed(1)} tokens/s), prompt ${event.inputTokens} tokens\n`,
          io.isTTY,
        ),
      );
    }
  };
}

/** One line for a tool call as it starts, and its outcome once it returns. */
function printEvent(
  event: AgentEvent,
  io: CliIO,
  state: { inReasoning: boolean; inText: boolean; model: TerminalTextStream },
): void {
  const out = io.stdout;
  // Everything printed here came from the model, a tool or a server: terminalSafe keeps escapes out (issue 10).
  const endLine = () => {
    const held = state.model.flush();
    if (held) out.write(held);
    if (state.inReasoning || state.inText) out.write("\n");
    state.inReasoning = false;
    state.inText = false;
  };
  switch (event.type) {
    case "reasoning-delta":
      if (!state.inReasoning) {
        endLine();
        state.inReasoning = true;
      }
      out.write(dim(state.model.write(event.text), io.isTTY));
      break;
    case "text-delta":
      if (!state.inText) {
        endLine();
        state.inText = true;
      }
      out.write(state.model.write(event.text));
      break;
    case "tool-call":
      endLine();
      out.write(`${terminalSafe(`→ ${event.toolName} ${JSON.stringify(event.input)}`)}\n`);
      break;
    case "tool-result":
      endLine();
      out.write(
        `${terminalSafe(`${event.ok ? "✓" : "✗"} ${event.toolName}: ${event.summary.split("\n")[0]}${event.images.length ? ` [${event.images.map((image) => `image ${image.index}`).join(", ")}]` : ""}`)}\n`,
      );
      break;
    case "budget":
      for (const change of event.elided) {
        endLine();
        out.write(dim(`${terminalSafe(`… ${change.action} ${change.record}`)}\n`, io.isTTY));
      }
      break;
    case "error":
      endLine();
      io.stderr.write(`${terminalSafe(`error: ${event.message}${event.hint ? ` — ${event.hint}` : ""}`)}\n`);
      break;
    case "answer":
      endLine();
      break;
    default:
      break;
  }
}

async function pickBuiltinTools(names: string[]): Promise<NonNullable<CreateAgentOptions["tools"]>> {
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

/** Runs the agent for `squint ask` with a given backend (the command picks it; tests pass a scripted one). */
export async function askWithBackend(
  backend: Backend,
  args: AskArgs,
  io: CliIO,
  extra: Pick<CreateAgentOptions, "tools"> = {},
): Promise<{ code: number; result: AgentResult }> {
  // Loaded here, not at the top: `squint --help` imports every command and must stay fast.
  const { createAgent } = await import("../../agent/agent.js");
  const { stepCountIs } = await import("../../agent/stop-conditions.js");
  const { renderTraceReport } = await import("../../agent/trace/report.js");
  const tools = extra.tools ?? (args.tools ? await pickBuiltinTools(args.tools) : undefined);
  const agent = await createAgent({
    model: backend,
    ...(tools ? { tools } : {}),
    ...(args.maxOutputTokens === undefined ? {} : { maxOutputTokens: args.maxOutputTokens }),
    ...(args.mcp ? { mcp: args.mcp } : {}),
    ...(args.maxSteps === undefined ? {} : { stopWhen: stepCountIs(args.maxSteps) }),
    budget: {
      ...(args.maxVisualTokens === undefined ? {} : { maxVisualTokens: args.maxVisualTokens }),
      ...(args.timeout === undefined ? {} : { maxWallTimeMs: args.timeout * 1000 }),
    },
  });
  const controller = new AbortController();
  const onSigint = () => controller.abort("interrupted (Ctrl-C)");
  process.once("SIGINT", onSigint);
  try {
    const run = agent.run({ images: args.images, prompt: args.question, abortSignal: controller.signal });
    const events: AgentEvent[] = [];
    const state = { inReasoning: false, inText: false, model: new TerminalTextStream() };
    // On a terminal, a progress line (stderr) must not land in the middle of the model's text (stdout).
    const progress = generationProgress(io, undefined, () => {
      if (!io.isTTY || args.json || !(state.inReasoning || state.inText)) return;
      const held = state.model.flush();
      io.stdout.write(`${held}\n`);
      state.inReasoning = false;
      state.inText = false;
    });
    for await (const event of run.events) {
      progress(event);
      if (args.json) {
        if (!event.type.endsWith("-delta")) events.push(event);
      } else printEvent(event, io, state);
    }
    const result = await run.result;
    if (args.trace) {
      await writeFile(args.trace, await renderTraceReport(result, agent.store, { question: args.question }));
      if (!args.json) io.stderr.write(`trace written to ${args.trace}\n`);
    }
    if (args.json) {
      io.stdout.write(`${JSON.stringify({ ...result, messages: undefined, events }, null, 2)}\n`);
    }
    return { code: result.status === "answered" ? 0 : 1, result };
  } finally {
    process.removeListener("SIGINT", onSigint);
    await agent.close();
    await backend.close();
    const { closeDefaultOcrEngine } = await import("../../tools/ocr/ocr-tool.js");
    await closeDefaultOcrEngine();
  }
}

export const askCommand: Command = {
  name: "ask",
  summary: "ask a question about images; the model zooms in as it needs",
  usage,
  async run(argv, io) {
    const args = parseAskArgs(argv);
    const { createBackend } = await import("../../runtime/create-backend.js");
    const backend = await createBackend({ ...backendOptions(args), onProgress: stderrProgress(io) });
    return (await askWithBackend(backend, args, io)).code;
  },
};
