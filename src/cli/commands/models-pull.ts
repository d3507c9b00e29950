import { parseArgs } from "node:util";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import { buildDtypeSchema } from "../../model/graph/contract.js";
import { type PullProgress, pullModel } from "../../runtime/models/pull.js";
import { DEFAULT_MODEL, DEFAULT_MODEL_DTYPE } from "../../runtime/models/store-paths.js";
import type { CliIO, ModelsSubcommand } from "../command.js";

const usage = `Usage: squint models pull [hf-repo] [--revision R] [--dtype fp32|fp16|int4|int8] [--no-build] [--hub-url URL]

Downloads a Qwen3-VL checkpoint from the Hugging Face Hub (default ${DEFAULT_MODEL}), checks every file
against the hash the Hub lists, and builds it into ONNX graphs in the model store ($SQUINT_HOME, else
$XDG_CACHE_HOME/squint, else ~/.cache/squint). An interrupted pull resumes where it stopped.

Options:
  --revision R   branch, tag or commit (default main)
  --dtype T      weights of the build: int4 (default), int8, fp16 or fp32
  --no-build     download only
  --hub-url URL  another Hub endpoint (default https://huggingface.co)
Gated or private repos need a token in HF_TOKEN.
For NVIDIA GPUs install ONNX Runtime's CUDA build once: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node
`;

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** A one-line progress bar on a terminal; on a pipe, one line per finished file. */
function progressPrinter(io: CliIO): (event: PullProgress) => void {
  const tty = io.isTTY;
  let lastDraw = 0;
  return (event) => {
    if (event.stage === "resolve") {
      io.stderr.write(
        `${event.repo}@${event.revision} → ${event.commit.slice(0, 12)}: ${event.files} files, ${megabytes(event.bytes)}\n`,
      );
    } else if (event.stage === "download") {
      if (!tty) return;
      const now = Date.now();
      if (now - lastDraw < 100 && event.received < event.total) return;
      lastDraw = now;
      const fraction = event.total === 0 ? 1 : event.received / event.total;
      const width = 30;
      const filled = Math.round(fraction * width);
      io.stderr.write(
        `\r${event.file.padEnd(32).slice(0, 32)} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${megabytes(event.received)}/${megabytes(event.total)}${event.resumedFrom > 0 ? " (resumed)" : ""}`,
      );
    } else if (event.stage === "verified") {
      if (tty && !event.skipped) io.stderr.write("\n");
      io.stderr.write(`${event.skipped ? "already have" : "verified"} ${event.file}\n`);
    } else if (event.stage === "build") {
      io.stderr.write(`${event.message}\n`);
    }
  };
}

export const modelsPull: ModelsSubcommand = {
  name: "pull",
  summary: "download a checkpoint from the Hugging Face Hub and build it",
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        revision: { type: "string" },
        dtype: { type: "string" },
        "no-build": { type: "boolean", default: false },
        "hub-url": { type: "string" },
      },
    });
    const parsed = z
      .object({
        repo: z.string().min(1).default(DEFAULT_MODEL),
        extra: z.array(z.string()).max(0, "pull takes one repo id"),
        revision: z.string().min(1).optional(),
        dtype: buildDtypeSchema.default(DEFAULT_MODEL_DTYPE),
        hubUrl: z.url("--hub-url must be an http(s) URL").optional(),
      })
      .safeParse({
        repo: positionals[0],
        extra: positionals.slice(1),
        revision: values.revision,
        dtype: values.dtype,
        hubUrl: values["hub-url"],
      });
    if (!parsed.success) {
      throw new SquintError("INVALID_ARGUMENT", parsed.error.issues.map((issue) => issue.message).join("; "), {
        hint: usage.split("\n")[0],
      });
    }
    const result = await pullModel(parsed.data.repo, {
      revision: parsed.data.revision,
      dtype: parsed.data.dtype,
      hubUrl: parsed.data.hubUrl,
      build: !values["no-build"],
      onProgress: progressPrinter(io),
    });
    io.stdout.write(`${result.builtDir ?? result.checkpointDir}\n`);
    return 0;
  },
};
