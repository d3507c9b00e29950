import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import {
  DECODER_INPUTS,
  DECODER_OUTPUTS,
  deepstackFeaturesName,
  EMBEDDING_INPUTS,
  EMBEDDING_OUTPUTS,
  MANIFEST_FILE,
  type Manifest,
  manifestSchema,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
  VISION_INPUTS,
  VISION_OUTPUTS,
} from "../../src/model/graph/contract.js";
import { visionSegmentInputs } from "../../src/model/graph/vision-inputs.js";
import type { VisualGrid } from "../support/reference/rope-index.js";

/**
 * The three built graphs driven directly through onnxruntime-node, exactly as the contract in
 * src/model/graph/contract.ts describes them — no engine in between, so a parity failure points at the
 * graphs. Batch 1 throughout.
 */
export interface GraphVisionOutput {
  features: Float32Array;
  deepstack: Float32Array[];
  tokens: number;
}

/** The KV cache between decoder calls: present.* of the last call, per layer. */
export interface GraphCache {
  keys: ort.Tensor[];
  values: ort.Tensor[];
  length: number;
}

function floatData(tensor: ort.Tensor | undefined, name: string): Float32Array {
  if (!tensor || !(tensor.data instanceof Float32Array))
    throw new Error(`graph output ${name} is missing or not float32`);
  return tensor.data;
}

export class OrtGraphs {
  private constructor(
    readonly manifest: Manifest,
    private readonly vision: ort.InferenceSession,
    private readonly embedding: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
  ) {}

  /** `executionProvider` "webgpu" runs the graphs on the GPU (software Vulkan in CI); nodes it lacks fall back to CPU. */
  static async open(dir: string, executionProvider: "cpu" | "webgpu" = "cpu"): Promise<OrtGraphs> {
    const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(dir, MANIFEST_FILE), "utf8")) as unknown);
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [executionProvider],
      intraOpNumThreads: 1,
      logSeverityLevel: 3,
    };
    const [vision, embedding, decoder] = await Promise.all([
      ort.InferenceSession.create(join(dir, manifest.graphs.vision.file), options),
      ort.InferenceSession.create(join(dir, manifest.graphs.embedding.file), options),
      ort.InferenceSession.create(join(dir, manifest.graphs.decoder.file), options),
    ]);
    return new OrtGraphs(manifest, vision, embedding, decoder);
  }

  /**
   * Runs the vision graph once per attention segment (each image; each 2-frame group of a video) and
   * concatenates the outputs in input order. `pixels` holds every segment's rows back to back.
   */
  async encode(
    pixels: Float32Array,
    grids: readonly VisualGrid[],
    numPositionEmbeddings: number,
  ): Promise<GraphVisionOutput> {
    const m = this.manifest.model;
    const merge = m.spatialMergeSize;
    const patchDim = m.visionPatchInput;
    const features: Float32Array[] = [];
    const deepstack: Float32Array[][] = Array.from({ length: m.deepstackLayers }, () => []);
    let row = 0;
    for (const g of grids) {
      // The graph takes the side inputs as the caller computes them; a pos-embed-raster build is tested
      // with the raster side inputs its manifest names, as the runtime would feed it.
      const side = visionSegmentInputs(
        g.h,
        g.w,
        { numPositionEmbeddings, spatialMergeSize: merge },
        this.manifest.mutation,
      );
      const n = g.h * g.w;
      for (let t = 0; t < g.t; t++, row += n) {
        const out = await this.vision.run({
          [VISION_INPUTS.pixelValues]: new ort.Tensor("float32", pixels.slice(row * patchDim, (row + n) * patchDim), [
            n,
            patchDim,
          ]),
          [VISION_INPUTS.posEmbedIndices]: new ort.Tensor("int64", side.posEmbedIndices, [n, 4]),
          [VISION_INPUTS.posEmbedWeights]: new ort.Tensor("float32", side.posEmbedWeights, [n, 4]),
          [VISION_INPUTS.rotaryPositions]: new ort.Tensor("int64", side.rotaryPositions, [n, 2]),
        });
        features.push(floatData(out[VISION_OUTPUTS.imageFeatures], VISION_OUTPUTS.imageFeatures));
        for (let j = 0; j < m.deepstackLayers; j++)
          deepstack[j].push(floatData(out[deepstackFeaturesName(j)], deepstackFeaturesName(j)));
      }
    }
    const cat = (parts: Float32Array[]) => {
      const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      return all;
    };
    return { features: cat(features), deepstack: deepstack.map(cat), tokens: row / merge ** 2 };
  }

  async embed(ids: readonly number[]): Promise<Float32Array> {
    const out = await this.embedding.run({
      [EMBEDDING_INPUTS.inputIds]: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
    });
    return floatData(out[EMBEDDING_OUTPUTS.inputsEmbeds], EMBEDDING_OUTPUTS.inputsEmbeds);
  }

  emptyCache(): GraphCache {
    const m = this.manifest.model;
    const empty = () => new ort.Tensor("float32", new Float32Array(0), [1, m.numKeyValueHeads, 0, m.headDim]);
    return {
      keys: Array.from({ length: m.numLayers }, empty),
      values: Array.from({ length: m.numLayers }, empty),
      length: 0,
    };
  }

  /**
   * One decoder call over S new tokens. `deepstackRows` are indexes into the S tokens that receive the
   * DeepStack features (one [rows, H] tensor per tap); every other row gets zeros, as the contract says.
   * Returns the logits as the graph emits them ([S, V] or [1, V]) and the grown cache.
   */
  async decode(
    embeds: Float32Array,
    positions: readonly [readonly number[], readonly number[], readonly number[]],
    cache: GraphCache,
    deepstack?: { rows: readonly number[]; features: readonly Float32Array[] },
  ): Promise<{ logits: Float32Array; cache: GraphCache }> {
    const m = this.manifest.model;
    const H = m.hiddenSize;
    const s = embeds.length / H;
    const D = m.deepstackLayers;
    const ds = new Float32Array(s * D * H);
    if (deepstack) {
      deepstack.rows.forEach((r, k) => {
        for (let j = 0; j < D; j++) ds.set(deepstack.features[j].subarray(k * H, (k + 1) * H), r * D * H + j * H);
      });
    }
    const pos = new BigInt64Array(3 * s);
    for (let a = 0; a < 3; a++) for (let i = 0; i < s; i++) pos[a * s + i] = BigInt(positions[a][i]);
    const feeds: Record<string, ort.Tensor> = {
      [DECODER_INPUTS.inputsEmbeds]: new ort.Tensor("float32", embeds, [1, s, H]),
      [DECODER_INPUTS.attentionMask]: new ort.Tensor("int64", new BigInt64Array(cache.length + s).fill(1n), [
        1,
        cache.length + s,
      ]),
      [DECODER_INPUTS.positionIds]: new ort.Tensor("int64", pos, [3, 1, s]),
      [DECODER_INPUTS.deepstackEmbeds]: new ort.Tensor("float32", ds, [1, s, D * H]),
    };
    for (let l = 0; l < m.numLayers; l++) {
      feeds[pastKeyName(l)] = cache.keys[l];
      feeds[pastValueName(l)] = cache.values[l];
    }
    const out = await this.decoder.run(feeds);
    const next: GraphCache = {
      keys: Array.from({ length: m.numLayers }, (_, l) => out[presentKeyName(l)]),
      values: Array.from({ length: m.numLayers }, (_, l) => out[presentValueName(l)]),
      length: cache.length + s,
    };
    return { logits: floatData(out[DECODER_OUTPUTS.logits], DECODER_OUTPUTS.logits), cache: next };
  }

  async release(): Promise<void> {
    await Promise.all([this.vision.release(), this.embedding.release(), this.decoder.release()]);
  }
}
