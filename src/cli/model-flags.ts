import { z } from "zod";
import { SquintError } from "../errors.js";
import type { BackendProgressReporter, CreateBackendOptions } from "../runtime/create-backend.js";
import type { CliIO } from "./command.js";

/**
 * The model flags every command that runs a model accepts (ask, mcp, serve, eval), parsed and checked in one
 * place so that `--preset`, the GET /models lookup and $SQUINT_API_KEY work the same in each; the flags go
 * unchanged to `createBackend` (src/runtime/create-backend.ts).
 */

export const modelFlagOptions = {
  model: { type: "string" },
  "base-url": { type: "string" },
  "api-key": { type: "string" },
  "model-name": { type: "string" },
  preset: { type: "string" },
} as const;

export const PRESET_NAMES = ["vllm", "sglang", "ollama", "dashscope", "openai"] as const;

export const modelFlagsUsage = `  --model ID|DIR          a pulled Hub id, checkpoint or built directory (in-process ONNX engine)
  --base-url URL          an OpenAI-compatible server (vLLM, SGLang, Ollama, DashScope, llama.cpp, ...)
  --model-name NAME       the model's name on that server (default: the one model its GET /models lists)
  --api-key K             its API key (default: $SQUINT_API_KEY)
  --preset P              ${PRESET_NAMES.join(", ")} (default vllm; sets the default URL and the server's dialect)`;

const modelFlagsSchema = z.object({
  model: z.string().min(1, "--model must not be empty").optional(),
  baseUrl: z
    .url("--base-url must be an http(s) URL")
    .refine((url) => /^https?:\/\//i.test(url), "--base-url must be an http(s) URL")
    .optional(),
  apiKey: z.string().min(1, "--api-key must not be empty").optional(),
  modelName: z.string().min(1, "--model-name must not be empty").optional(),
  preset: z.enum(PRESET_NAMES, { error: `--preset is one of ${PRESET_NAMES.join(", ")}` }).optional(),
});

export type ModelFlags = z.infer<typeof modelFlagsSchema>;

export interface ModelFlagRules {
  /** `--model-name` may also name a local model (serve: the id it serves the model under). */
  modelNameForLocal?: boolean;
}

/** Whether the flags ask for a model at all (mcp and serve run without one; ask and eval use the default). */
export function wantsModel(flags: ModelFlags): boolean {
  return flags.model !== undefined || flags.baseUrl !== undefined || flags.preset !== undefined;
}

export function usesServer(flags: ModelFlags): boolean {
  return flags.baseUrl !== undefined || flags.preset !== undefined;
}

/** Reads the model flags out of parseArgs' values; `hint` is the command's own usage pointer. */
export function readModelFlags(
  values: Partial<Record<keyof typeof modelFlagOptions, string | undefined>>,
  env: NodeJS.ProcessEnv,
  hint: string,
  rules: ModelFlagRules = {},
): ModelFlags {
  const parsed = modelFlagsSchema.safeParse({
    model: values.model,
    baseUrl: values["base-url"],
    apiKey: values["api-key"],
    modelName: values["model-name"],
    preset: values.preset,
  });
  if (!parsed.success) {
    throw new SquintError("INVALID_ARGUMENT", parsed.error.issues.map((issue) => issue.message).join("; "), { hint });
  }
  const flags = parsed.data;
  if (flags.model !== undefined && usesServer(flags)) {
    throw new SquintError("INVALID_ARGUMENT", "Give either --model or --base-url/--preset, not both.", {
      hint: "--model runs a local checkpoint in-process; --base-url uses an OpenAI-compatible server.",
    });
  }
  if (flags.apiKey !== undefined && !usesServer(flags)) {
    throw new SquintError("INVALID_ARGUMENT", "--api-key only applies to --base-url.", {
      hint: "Add --base-url URL (an OpenAI-compatible server), or drop the option.",
    });
  }
  if (flags.modelName !== undefined && !usesServer(flags) && !(rules.modelNameForLocal && flags.model !== undefined)) {
    throw new SquintError("INVALID_ARGUMENT", "--model-name only applies to --base-url.", {
      hint: "Add --base-url URL (an OpenAI-compatible server), or drop the option.",
    });
  }
  // The key from the environment only when a server is used (and never echoed anywhere).
  if (flags.apiKey === undefined && usesServer(flags) && env.SQUINT_API_KEY) flags.apiKey = env.SQUINT_API_KEY;
  return flags;
}

/** The flags as createBackend options (a local `--model-name` is the served id, not the backend's concern). */
export function backendOptions(flags: ModelFlags): CreateBackendOptions {
  return {
    ...(flags.model === undefined ? {} : { model: flags.model }),
    ...(flags.baseUrl === undefined ? {} : { baseUrl: flags.baseUrl }),
    ...(flags.apiKey === undefined ? {} : { apiKey: flags.apiKey }),
    ...(flags.modelName === undefined || !usesServer(flags) ? {} : { modelName: flags.modelName }),
    ...(flags.preset === undefined ? {} : { preset: flags.preset }),
  };
}

/**
 * Load progress on stderr: a terminal gets one line rewritten in place, a log one line per stage, each
 * prefixed with the command's name where stdout may be a protocol channel (mcp) or a log is shared (serve).
 */
export function stderrProgress(io: CliIO, prefix = ""): BackendProgressReporter {
  return ({ stage, message }) => {
    if (io.isTTY && prefix === "") {
      io.stderr.write(`\r\x1b[2K\x1b[2m${message}\x1b[22m${stage === "ready" ? "\n" : ""}`);
    } else {
      io.stderr.write(`${prefix}${message}\n`);
    }
  };
}

/**
 * Tokens per model turn: `--max-output-tokens` (the SDK's maxOutputTokens, and serve's flag of that name), with
 * `--max-new-tokens`, its name before, still read.
 */
export const outputTokenFlagOptions = {
  "max-output-tokens": { type: "string" },
  "max-new-tokens": { type: "string" },
} as const;

export const outputTokenFlagUsage =
  "  --max-output-tokens N   tokens per model turn (default: the backend's; --max-new-tokens is its old name)";

const outputTokensSchema = z
  .string()
  .regex(/^\d+$/, "--max-output-tokens takes a whole number")
  .transform(Number)
  .pipe(z.number().int().positive("--max-output-tokens must be greater than zero"))
  .optional();

export function readMaxOutputTokens(
  values: Partial<Record<keyof typeof outputTokenFlagOptions, string | undefined>>,
  hint: string,
): number | undefined {
  if (values["max-output-tokens"] !== undefined && values["max-new-tokens"] !== undefined) {
    throw new SquintError("INVALID_ARGUMENT", "Give --max-output-tokens or its old name --max-new-tokens, not both.", {
      hint,
    });
  }
  const parsed = outputTokensSchema.safeParse(values["max-output-tokens"] ?? values["max-new-tokens"]);
  if (!parsed.success) {
    throw new SquintError("INVALID_ARGUMENT", parsed.error.issues.map((issue) => issue.message).join("; "), { hint });
  }
  return parsed.data;
}
