import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { parseWith, SquintError } from "../../errors.js";
import { Checkpoint } from "../checkpoint/checkpoint.js";
import { allWeightSpecs } from "../checkpoint/weight-names.js";
import {
  type Attention,
  type BuildDtype,
  type GraphMutation,
  type KvDtype,
  type VisionAttention,
  MANIFEST_FILE,
  type Manifest,
  manifestSchema,
  type PrefillDtype,
  type VisionDtype,
} from "./contract.js";
import { buildDecoderGraph } from "./decoder-graph.js";
import { buildEmbeddingGraph } from "./embedding-graph.js";
import { DEFAULT_OPSET } from "./graph-builder.js";
import {
  INT4_ACCURACY_LEVELS,
  INT4_DEFAULT_ACCURACY_LEVEL,
  INT4_DEFAULT_BLOCK_SIZE,
  type Int4AccuracyLevel,
} from "./linear.js";
import { buildVisionGraph } from "./vision-graph.js";

/**
 * checkpoint directory → vision.onnx, embedding.onnx, decoder.onnx (each with its external-data file) and
 * manifest.json, the I/O contract of contract.ts filled in for this model. Tensors are read from the
 * checkpoint one at a time and written to the external-data files at once.
 */

export interface BuildOptions {
  dtype: BuildDtype;
  lastTokenLogits?: boolean | undefined;
  int4BlockSize?: number | undefined;
  /** int4 only: MatMulNBits accuracy_level (linear.ts), default 4 (int8 activations); 0 computes in float32. */
  int4AccuracyLevel?: Int4AccuracyLevel | undefined;
  /**
   * Decoder attention: standard ops ("plain", default), com.microsoft GroupQueryAttention ("gqa"), or GQA over a
   * fixed-capacity cache that past and present share ("gqa-shared", contract.ts).
   */
  attention?: Attention | undefined;
  /** KV cache element type (default float32); float16 halves the cache and needs "append" attention. */
  kvDtype?: KvDtype | undefined;
  /**
   * int4 builds only: also write an int8 twin of the decoder that the engine runs for prefill chunks
   * (contract.ts). Prefill several times faster on CPUs with AMX or AVX-512 VNNI, at the cost of the
   * int8 layers' memory (about twice the int4 decoder's) next to the int4 ones.
   */
  prefillDtype?: PrefillDtype | undefined;
  /**
   * "int8": the vision encoder's Linear layers as per-row int8 (vision-graph.ts): an image encodes several
   * times faster on CPUs with AMX or AVX-512 VNNI, with int8 rounding in its features (test/parity bounds it).
   */
  visionDtype?: VisionDtype | undefined;
  /** Vision encoder attention (contract.ts): "fused" contrib ops (default) or the "plain" standard-op form. */
  visionAttention?: VisionAttention | undefined;
  /** Test-only fault injection (contract.ts); recorded in the manifest. */
  mutation?: GraphMutation | undefined;
}

/**
 * Execution providers whose kernels cover every op these graphs use (contrib ops included). ORT's CUDA
 * GroupQueryAttention only takes fp16/bf16, so a float32 "gqa" decoder is for the CPU EP only.
 */
export function builtForExecutionProviders(attention: Attention): string[] {
  return attention === "plain" ? ["cpu", "cuda"] : ["cpu"];
}

export async function buildModel(checkpointDir: string, outDir: string, options: BuildOptions): Promise<Manifest> {
  const blockSize = options.int4BlockSize ?? INT4_DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(Math.log2(blockSize)) || blockSize < 16) {
    throw new SquintError("INVALID_ARGUMENT", `int4 block size ${blockSize} is not a power of two ≥ 16`, {
      hint: "MatMulNBits takes block sizes 16, 32, 64, 128 or 256.",
    });
  }
  const accuracyLevel = options.int4AccuracyLevel ?? INT4_DEFAULT_ACCURACY_LEVEL;
  if (!(INT4_ACCURACY_LEVELS as readonly number[]).includes(accuracyLevel)) {
    throw new SquintError("INVALID_ARGUMENT", `int4 accuracy level ${accuracyLevel} is not one of 0-4`, {
      hint: "MatMulNBits takes accuracy_level 0 (float32), 1 (fp32), 2 (fp16), 3 (bf16) or 4 (int8 activations).",
    });
  }
  if (options.kvDtype === "float16" && options.attention !== "append") {
    throw new SquintError("INVALID_ARGUMENT", "a float16 KV cache needs --attention append", {
      hint: "Build with --attention append --kv-dtype float16, or keep the float32 cache.",
    });
  }
  if (options.prefillDtype !== undefined && options.dtype !== "int4") {
    throw new SquintError("INVALID_ARGUMENT", `an ${options.prefillDtype} prefill decoder is for int4 builds`, {
      hint: "Build with --dtype int4 --prefill-dtype int8, or use --dtype int8 for int8 throughout.",
    });
  }
  const target = resolve(outDir);
  await checkOutputDir(target);
  const ckpt = await Checkpoint.open(checkpointDir);
  // Everything is written to a sibling folder and moved into place at the end, so a failed or interrupted
  // build never leaves a half-written model where a good one is expected.
  const staging = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
  try {
    checkWeights(ckpt);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const manifest = await buildInto(ckpt, checkpointDir, staging, options, blockSize, accuracyLevel);
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
    return manifest;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    await ckpt.close();
  }
}

/** Refuses to replace a folder that holds something other than a previous build. */
async function checkOutputDir(target: string): Promise<void> {
  if (!existsSync(target)) return;
  const entries = await readdir(target).catch(() => {
    throw new SquintError("INVALID_ARGUMENT", `${target} exists and is not a folder`, {
      hint: "Choose a new output folder for the built model.",
    });
  });
  if (entries.length > 0 && !entries.includes(MANIFEST_FILE)) {
    throw new SquintError("INVALID_ARGUMENT", `${target} is not empty and holds no previous build`, {
      hint: "Choose an empty or new output folder; Squint only replaces folders it built itself.",
    });
  }
}

/** Every weight the graphs need, with the shape config.json implies, before gigabytes get written. */
function checkWeights(ckpt: Checkpoint): void {
  const missing: string[] = [];
  for (const spec of allWeightSpecs(ckpt.config)) {
    if (!ckpt.has(spec.name)) {
      missing.push(spec.name);
      continue;
    }
    const shape = ckpt.info(spec.name).shape;
    if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
      throw new SquintError(
        "MODEL_LOAD_FAILED",
        `tensor "${spec.name}" has shape ${JSON.stringify(shape)}, config.json implies ${JSON.stringify(spec.shape)}`,
        { hint: "config.json and the weights disagree; use the config.json that came with these weights." },
      );
    }
  }
  if (missing.length > 0) {
    throw new SquintError(
      "MODEL_LOAD_FAILED",
      `the checkpoint lacks ${missing.length} weight(s) Squint needs, e.g. "${missing[0]}"`,
      {
        hint: "Is it a complete Qwen3-VL dense checkpoint (all shards downloaded)?",
        details: { missing: missing.slice(0, 20) },
      },
    );
  }
}

async function buildInto(
  ckpt: Checkpoint,
  checkpointDir: string,
  outDir: string,
  options: BuildOptions,
  blockSize: number,
  accuracyLevel: Int4AccuracyLevel,
): Promise<Manifest> {
  const visionAttention = options.visionAttention ?? "fused";
  const vision = await buildVisionGraph(ckpt, outDir, {
    storage: options.dtype,
    linears: options.visionDtype,
    mutation: options.mutation,
    attention: visionAttention,
  });
  const embedding = await buildEmbeddingGraph(ckpt, outDir, options.dtype);
  const decoderOptions = {
    storage: options.dtype,
    lastTokenLogits: options.lastTokenLogits ?? false,
    mutation: options.mutation,
    int4BlockSize: blockSize,
    int4AccuracyLevel: accuracyLevel,
    attention: options.attention ?? "plain",
    kvDtype: options.kvDtype ?? "float32",
  };
  const decoder = await buildDecoderGraph(ckpt, outDir, decoderOptions);
  const prefill = options.prefillDtype
    ? await buildDecoderGraph(ckpt, outDir, {
        ...decoderOptions,
        graph: "prefill",
        storage: options.prefillDtype,
        headStorage: options.dtype,
      })
    : undefined;
  const c = ckpt.config;
  const manifest: Manifest = parseWith(
    manifestSchema,
    {
      format: "squint-onnx",
      version: 1,
      dtype: options.dtype,
      ioDtype: "float32",
      executionProviders: builtForExecutionProviders(options.attention ?? "plain"),
      attention: options.attention ?? "plain",
      visionAttention,
      ...(options.kvDtype === "float16" ? { kvDtype: "float16" } : {}),
      ...(options.attention === "append" ? { kvLayout: "positions-first" } : {}),
      logits: options.lastTokenLogits ? "last" : "all",
      ...(options.prefillDtype ? { prefillDtype: options.prefillDtype } : {}),
      ...(options.visionDtype ? { visionDtype: options.visionDtype } : {}),
      ...(options.dtype === "int4" ? { int4BlockSize: blockSize, int4AccuracyLevel: accuracyLevel } : {}),
      opset: DEFAULT_OPSET,
      model: {
        hiddenSize: c.text.hiddenSize,
        numLayers: c.text.numLayers,
        numHeads: c.text.numHeads,
        numKeyValueHeads: c.text.numKeyValueHeads,
        headDim: c.text.headDim,
        vocabSize: c.text.vocabSize,
        deepstackLayers: c.vision.deepstackVisualIndexes.length,
        tieWordEmbeddings: c.tieWordEmbeddings,
        visionHiddenSize: c.vision.hiddenSize,
        visionPatchInput: c.vision.inChannels * c.vision.temporalPatchSize * c.vision.patchSize * c.vision.patchSize,
        spatialMergeSize: c.vision.spatialMergeSize,
        imageTokenId: c.imageTokenId,
        videoTokenId: c.videoTokenId,
      },
      graphs: { vision, embedding, decoder, ...(prefill ? { prefill } : {}) },
      ...(options.mutation ? { mutation: options.mutation } : {}),
      source: { checkpoint: basename(resolve(checkpointDir)), configSha256: ckpt.configSha256 },
    },
    "The build manifest",
    { code: "INTERNAL" },
  );
  await writeFile(resolve(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
