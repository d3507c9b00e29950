import { existsSync } from "node:fs";
import { copyFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import { archOverrideSchema, makeTinyCheckpoint } from "../../model/checkpoint/tiny.js";
import { buildModel } from "../../model/graph/build.js";
import { buildDtypeSchema, graphMutationSchema } from "../../model/graph/contract.js";
import type { Int4AccuracyLevel } from "../../model/graph/linear.js";
import { CHECKPOINT_SIDE_FILES } from "../../runtime/local/model-files.js";
import type { Command, ModelsSubcommand } from "../command.js";
import { modelsList } from "./models-list.js";
import { modelsPull } from "./models-pull.js";
import { modelsRm } from "./models-rm.js";

/**
 * `squint models <sub>`: model files on disk. Each subcommand is one row of SUBCOMMANDS; others (pull, list,
 * rm) are added as rows by the model-store code.
 */

const makeTinyUsage = `Usage: squint models make-tiny <dir> [--seed N] [--dtype bf16|fp32] [--tokenizer PATH] [--untied]
                                [--shards N] [--arch JSON|@file.json] [--std X]

Writes a Hugging Face-format Qwen3-VL checkpoint with random weights and a tiny architecture (for tests and
benchmarks of the plumbing; it gives meaningless answers).

Options:
  --seed N          random seed (default 0)
  --dtype T         bf16 (default, as released checkpoints ship) or fp32
  --tokenizer PATH  tokenizer.json, or a directory with tokenizer.json (+ tokenizer_config.json ...), to copy
  --untied          write a separate lm_head.weight instead of tying it to embed_tokens
  --shards N        write N safetensors shards and model.safetensors.index.json
  --arch JSON       overrides of text_config / vision_config, e.g. '{"text_config":{"hidden_size":512}}'
  --std X           standard deviation of the random weights (default 0.1)
`;

const buildUsage = `Usage: squint models build <checkpoint-dir> <out-dir> [--dtype fp32|fp16|int4|int8] [--last-token-logits]
                            [--int4-block-size N] [--int4-accuracy 0-4] [--attention plain|gqa|gqa-shared|append]
                            [--kv-dtype float32|float16] [--prefill-dtype int8] [--vision-dtype int8]
                            [--vision-attention fused|plain]

Converts a Qwen3-VL checkpoint (config.json + safetensors, sharded or not) into ONNX graphs (vision,
embedding, decoder) with external weights, plus manifest.json describing their inputs and outputs.

Options:
  --dtype T              weight storage: fp32 (default), fp16, int4 (MatMulNBits for the decoder), or int8
                         (per-row int8 decoder layers: fast prefill, slower decode than int4)
  --last-token-logits    the decoder returns logits for the last position only
  --int4-block-size N    int4 quantization block size along K (default 32)
  --int4-accuracy L      MatMulNBits accuracy_level: 4 (default: int8 activations, integer dot products,
                         fastest on CPUs) or 0 (float32 compute, exact to the stored int4 weights)
  --attention A          plain (default: standard ops, any padding, every provider) or gqa (ORT
                         GroupQueryAttention: fused, right padding only) or gqa-shared (gqa over a
                         fixed-capacity cache that past and present share) or append (the decoder reads
                         an engine-owned cache and returns only the new positions: no per-step cache
                         copy anywhere; CPU provider; the fastest CPU decode)
  --kv-dtype T           KV cache element type: float32 (default) or float16 (append attention only):
                         half the cache memory, so twice the context in the same budget (each step
                         converts the cache to float32 for attention)
  --prefill-dtype int8   int4 builds: also write an int8 copy of the decoder for prompt chunks (several
                         times faster prefill on CPUs with AMX or AVX-512 VNNI; decode steps stay int4);
                         costs the int8 layers' memory beside the int4 ones (about 1.4 GB more at 2B)
  --vision-dtype int8    the vision encoder's Linear layers in int8 (any build): images encode several
                         times faster on such CPUs, with int8 rounding in the image features
  --vision-attention V   fused (default: ORT RotaryEmbedding + MultiHeadAttention, which never holds the
                         [heads, N, N] scores) or plain (standard ops: the form before, for comparison)

The output folder runs as is (squint ask --model <out-dir>): the checkpoint's config.json, tokenizer and
processor files are copied beside the graphs.
`;

const positiveInt = (flag: string) =>
  z
    .string()
    .regex(/^\d+$/, `${flag} takes a whole number`)
    .transform(Number)
    .pipe(z.number().int().positive(`${flag} must be greater than zero`));

function invalidArgs(error: z.ZodError, usage: string): SquintError {
  return new SquintError("INVALID_ARGUMENT", error.issues.map((issue) => issue.message).join("; "), {
    hint: usage.split("\n")[0],
  });
}

async function parseArch(text: string | undefined): Promise<z.infer<typeof archOverrideSchema> | undefined> {
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text.startsWith("@") ? await readFile(text.slice(1), "utf8") : text);
  } catch (error) {
    throw new SquintError("INVALID_ARGUMENT", "--arch is not valid JSON", {
      hint: 'Pass JSON like \'{"text_config":{"hidden_size":512,"num_hidden_layers":8}}\' or @file.json.',
      cause: error,
    });
  }
  const parsed = archOverrideSchema.safeParse(json);
  if (!parsed.success) {
    throw new SquintError("INVALID_ARGUMENT", "--arch may only hold text_config and vision_config objects", {
      hint: "Use config.json key names inside text_config / vision_config.",
    });
  }
  return parsed.data;
}

const makeTiny: ModelsSubcommand = {
  name: "make-tiny",
  summary: "write a tiny random Qwen3-VL checkpoint (tests, benchmarks)",
  usage: makeTinyUsage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        seed: { type: "string" },
        dtype: { type: "string" },
        tokenizer: { type: "string" },
        untied: { type: "boolean", default: false },
        shards: { type: "string" },
        arch: { type: "string" },
        std: { type: "string" },
      },
    });
    const parsed = z
      .object({
        dir: z.string({ error: "make-tiny needs an output directory" }).min(1),
        extra: z.array(z.string()).max(0, "make-tiny takes one directory"),
        seed: z.string().regex(/^\d+$/, "--seed takes a whole number").transform(Number).optional(),
        dtype: z.enum(["bf16", "fp32"], { error: "--dtype is bf16 or fp32" }).optional(),
        shards: positiveInt("--shards").optional(),
        std: z
          .string()
          .transform(Number)
          .pipe(z.number({ error: "--std takes a number" }).positive("--std must be greater than zero"))
          .optional(),
      })
      .safeParse({
        dir: positionals[0],
        extra: positionals.slice(1),
        seed: values.seed,
        dtype: values.dtype,
        shards: values.shards,
        std: values.std,
      });
    if (!parsed.success) throw invalidArgs(parsed.error, makeTinyUsage);
    const result = await makeTinyCheckpoint(parsed.data.dir, {
      seed: parsed.data.seed,
      dtype: parsed.data.dtype,
      tokenizer: values.tokenizer,
      untied: values.untied,
      shards: parsed.data.shards,
      arch: await parseArch(values.arch),
      std: parsed.data.std,
    });
    io.stdout.write(
      `wrote ${result.dir}: ${result.parameters.toLocaleString("en-US")} parameters, ${result.files.join(", ")}\n`,
    );
    return 0;
  },
};

const build: ModelsSubcommand = {
  name: "build",
  summary: "convert a checkpoint into ONNX graphs + manifest.json",
  usage: buildUsage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dtype: { type: "string" },
        "last-token-logits": { type: "boolean", default: false },
        "int4-block-size": { type: "string" },
        "int4-accuracy": { type: "string" },
        attention: { type: "string" },
        "kv-dtype": { type: "string" },
        "prefill-dtype": { type: "string" },
        "vision-dtype": { type: "string" },
        "vision-attention": { type: "string" },
        // Test-only fault injection for the parity tests; deliberately not in the usage text.
        "test-mutation": { type: "string" },
      },
    });
    const parsed = z
      .object({
        checkpoint: z.string({ error: "build needs a checkpoint directory" }).min(1),
        out: z.string({ error: "build needs an output directory" }).min(1),
        extra: z.array(z.string()).max(0, "build takes two directories"),
        dtype: buildDtypeSchema.default("fp32"),
        blockSize: positiveInt("--int4-block-size").optional(),
        accuracyLevel: z
          .enum(["0", "1", "2", "3", "4"], { error: "--int4-accuracy is 0, 1, 2, 3 or 4" })
          .transform((level) => Number(level) as Int4AccuracyLevel)
          .optional(),
        mutation: graphMutationSchema.optional(),
        attention: z
          .enum(["plain", "gqa", "gqa-shared", "append"], { error: "--attention is plain, gqa, gqa-shared or append" })
          .optional(),
        kvDtype: z.enum(["float32", "float16"], { error: "--kv-dtype is float32 or float16" }).optional(),
        prefillDtype: z.enum(["int8"], { error: "--prefill-dtype is int8" }).optional(),
        visionDtype: z.enum(["int8"], { error: "--vision-dtype is int8" }).optional(),
        visionAttention: z.enum(["fused", "plain"], { error: "--vision-attention is fused or plain" }).optional(),
      })
      .safeParse({
        checkpoint: positionals[0],
        out: positionals[1],
        extra: positionals.slice(2),
        dtype: values.dtype,
        blockSize: values["int4-block-size"],
        accuracyLevel: values["int4-accuracy"],
        mutation: values["test-mutation"],
        attention: values.attention,
        kvDtype: values["kv-dtype"],
        prefillDtype: values["prefill-dtype"],
        visionDtype: values["vision-dtype"],
        visionAttention: values["vision-attention"],
      });
    if (!parsed.success) throw invalidArgs(parsed.error, buildUsage);
    const manifest = await buildModel(parsed.data.checkpoint, parsed.data.out, {
      dtype: parsed.data.dtype,
      lastTokenLogits: values["last-token-logits"],
      int4BlockSize: parsed.data.blockSize,
      int4AccuracyLevel: parsed.data.accuracyLevel,
      mutation: parsed.data.mutation,
      attention: parsed.data.attention,
      kvDtype: parsed.data.kvDtype,
      prefillDtype: parsed.data.prefillDtype,
      visionDtype: parsed.data.visionDtype,
      visionAttention: parsed.data.visionAttention,
    });
    // Beside the graphs, what loading needs from the checkpoint (config, tokenizer, processor), so the
    // folder is a complete model on its own.
    for (const file of CHECKPOINT_SIDE_FILES) {
      const from = join(parsed.data.checkpoint, file);
      if (existsSync(from)) await copyFile(from, join(parsed.data.out, file));
    }
    const graphs = Object.values(manifest.graphs)
      .flatMap((graph) => (graph ? [graph.file] : []))
      .join(", ");
    io.stdout.write(
      `wrote ${parsed.data.out}: ${graphs}, manifest.json (${manifest.dtype}, ${manifest.attention} attention${manifest.kvDtype === "float16" ? ", float16 KV cache" : ""}${manifest.prefillDtype ? `, ${manifest.prefillDtype} prefill decoder` : ""}${manifest.visionDtype ? `, ${manifest.visionDtype} vision layers` : ""})\n`,
    );
    return 0;
  },
};

/** The dispatcher's table: add a row per subcommand. */
export const MODELS_SUBCOMMANDS: ModelsSubcommand[] = [makeTiny, build, modelsPull, modelsList, modelsRm];

function modelsUsage(): string {
  const width = Math.max(...MODELS_SUBCOMMANDS.map((sub) => sub.name.length));
  return [
    "Usage: squint models <subcommand> [options]",
    "",
    "Subcommands:",
    ...MODELS_SUBCOMMANDS.map((sub) => `  ${sub.name.padEnd(width)}  ${sub.summary}`),
    "",
    // `squint models <sub> --help` is answered by main with this text, so it carries every subcommand's usage.
    ...MODELS_SUBCOMMANDS.flatMap((sub) => ["", sub.usage.trimEnd()]),
    "",
  ].join("\n");
}

export const modelsCommand: Command = {
  name: "models",
  summary: "make, build (and manage) model files",
  get usage() {
    return modelsUsage();
  },
  async run(argv, io) {
    const [name, ...rest] = argv;
    const sub = MODELS_SUBCOMMANDS.find((candidate) => candidate.name === name);
    if (!sub) {
      io.stderr.write(`${name === undefined ? "" : `squint models: unknown subcommand "${name}"\n\n`}${modelsUsage()}`);
      return 2;
    }
    return sub.run(rest, io);
  },
};
