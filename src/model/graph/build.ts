import { mkdir, writeFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { SquintError } from "../../errors.js";
import { Checkpoint } from "../checkpoint/checkpoint.js";
import { type BuildDtype, type GraphMutation, MANIFEST_FILE, type Manifest, manifestSchema } from "./contract.js";
import { buildDecoderGraph } from "./decoder-graph.js";
import { buildEmbeddingGraph } from "./embedding-graph.js";
import { DEFAULT_OPSET } from "./graph-builder.js";
import { INT4_DEFAULT_BLOCK_SIZE } from "./linear.js";
import { buildVisionGraph } from "./vision-graph.js";

/**
 * checkpoint directory → vision.onnx, embedding.onnx, decoder.onnx (each with its external-data file) and
 * manifest.json, the I/O contract of contract.ts filled in for this model. Tensors are read from the
 * checkpoint one at a time and written to the external-data files at once.
 */

export interface BuildOptions {
  dtype: BuildDtype;
  lastTokenLogits?: boolean;
  int4BlockSize?: number;
  /** Decoder attention: standard ops ("plain", default) or com.microsoft GroupQueryAttention ("gqa"). */
  attention?: "plain" | "gqa";
  /** Test-only fault injection (contract.ts); recorded in the manifest. */
  mutation?: GraphMutation;
}

/**
 * Execution providers whose kernels cover every op these graphs use (contrib ops included). ORT's CUDA
 * GroupQueryAttention only takes fp16/bf16, so a float32 "gqa" decoder is for the CPU EP only.
 */
export function builtForExecutionProviders(attention: "plain" | "gqa"): string[] {
  return attention === "gqa" ? ["cpu"] : ["cpu", "cuda"];
}

export async function buildModel(checkpointDir: string, outDir: string, options: BuildOptions): Promise<Manifest> {
  const blockSize = options.int4BlockSize ?? INT4_DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(Math.log2(blockSize)) || blockSize < 16) {
    throw new SquintError("INVALID_ARGUMENT", `int4 block size ${blockSize} is not a power of two ≥ 16`, {
      hint: "MatMulNBits takes block sizes 16, 32, 64, 128 or 256.",
    });
  }
  const ckpt = await Checkpoint.open(checkpointDir);
  try {
    await mkdir(outDir, { recursive: true });
    const vision = await buildVisionGraph(ckpt, outDir, { storage: options.dtype, mutation: options.mutation });
    const embedding = await buildEmbeddingGraph(ckpt, outDir, options.dtype);
    const decoder = await buildDecoderGraph(ckpt, outDir, {
      storage: options.dtype,
      lastTokenLogits: options.lastTokenLogits ?? false,
      mutation: options.mutation,
      int4BlockSize: blockSize,
      attention: options.attention ?? "plain",
    });
    const c = ckpt.config;
    const manifest: Manifest = manifestSchema.parse({
      format: "squint-onnx",
      version: 1,
      dtype: options.dtype,
      ioDtype: "float32",
      executionProviders: builtForExecutionProviders(options.attention ?? "plain"),
      attention: options.attention ?? "plain",
      logits: options.lastTokenLogits ? "last" : "all",
      ...(options.dtype === "int4" ? { int4BlockSize: blockSize } : {}),
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
      graphs: { vision, embedding, decoder },
      ...(options.mutation ? { mutation: options.mutation } : {}),
      source: { checkpoint: basename(resolve(checkpointDir)), configSha256: ckpt.configSha256 },
    });
    await writeFile(resolve(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  } finally {
    await ckpt.close();
  }
}
