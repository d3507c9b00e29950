import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { SquintError } from "../../errors.js";
import {
  DECODER_INPUTS,
  DECODER_OUTPUTS,
  deepstackFeaturesName,
  EMBEDDING_INPUTS,
  EMBEDDING_OUTPUTS,
  pastKeyName,
  pastValueName,
  presentKeyName,
  presentValueName,
  VISION_INPUTS,
  VISION_OUTPUTS,
} from "../../model/graph/contract.js";
import { visionSegmentInputs } from "../../model/graph/vision-inputs.js";
import { type GridThw, ropePositions } from "../../model/positions.js";
import {
  type EngineLog,
  type ExecutionProvider,
  type ExecutionProviderChoice,
  openSession,
  providerCandidates,
} from "./execution-provider.js";
import { cacheBytesPerToken, commonPrefixLength, KvCache } from "./kv-cache.js";
import type { ModelFiles } from "./model-files.js";
import { mapVisualTokens, type VisualInput } from "./visual-inputs.js";

/**
 * The in-process engine over the three built graphs (contract.ts): prefill a token sequence with its images
 * (reusing the KV cache for the longest common prefix with what it already holds), then decode one token
 * at a time. It knows nothing of messages or sampling; LocalBackend (local-backend.ts) drives it.
 */

export interface EngineOptions {
  executionProvider?: ExecutionProviderChoice | undefined;
  /** intra-op threads per session (ORT default: one per core). */
  threads?: number | undefined;
  /** Upper bound on KV-cache memory in bytes; a request that needs more fails with OUT_OF_MEMORY_BUDGET. */
  maxCacheBytes?: number | undefined;
  /** Tokens per prefill call. Default 512, or 128 when the decoder returns logits for every position. */
  prefillChunkTokens?: number | undefined;
  /**
   * "gqa-shared" and "append" decoders only: positions to allocate the cache buffers for on first use
   * (default: what the first request needs, plus headroom; gqa-shared doubles on growth, append grows by an
   * eighth). Capped by maxCacheBytes.
   */
  cacheCapacityTokens?: number | undefined;
  /** One line per notable event (provider fallbacks). Default: stderr. */
  log?: EngineLog | undefined;
  /** Called as each graph finishes loading. */
  onProgress?: ((event: { stage: "session"; graph: EngineGraph; provider: string }) => void) | undefined;
  /**
   * Builds with a prefill decoder (`--prefill-dtype int8`, contract.ts): chunks of at least this many tokens
   * run on it, shorter ones (every decode step) on the int4 decoder. Default PREFILL_GRAPH_MIN_TOKENS.
   */
  prefillGraphMinTokens?: number | undefined;
}

export type EngineGraph = "vision" | "embedding" | "decoder" | "prefill";

/**
 * Below this many tokens a run reads the weights more than it computes, and the int4 decoder (half the
 * bytes of int8) is faster; above it the int8 GEMMs win (bench/engine/int8-prefill.ts at the 2B shape: even
 * at 2-4 tokens, 1.4× at 8, 5.7× at 512).
 */
export const PREFILL_GRAPH_MIN_TOKENS = 8;

/** Default cache bound: 4 GiB of keys and values. */
export const DEFAULT_MAX_CACHE_BYTES = 4 * 1024 ** 3;

export interface PrefillResult {
  /** Logits of the last position (vocabulary-sized). */
  logits: Float32Array;
  /** Leading tokens taken from the cache instead of recomputed. */
  reusedTokens: number;
}

export interface EngineProviders {
  vision: ExecutionProvider;
  embedding: ExecutionProvider;
  decoder: ExecutionProvider;
}

interface VisualFeatures {
  features: Float32Array;
  deepstack: Float32Array[];
}

/** Counters for tests and benchmarks: what the engine actually computed. */
export interface EngineStats {
  visionRuns: number;
  prefillRuns: number;
  prefilledTokens: number;
  reusedTokens: number;
  decodeSteps: number;
}

/** What LocalBackend needs from an engine (tests drive the backend with a scripted one). */
export interface GenerationEngine {
  readonly files: Pick<ModelFiles, "tokenizer" | "preprocessor">;
  prefill(ids: readonly number[], visuals: readonly VisualInput[], signal?: AbortSignal): Promise<PrefillResult>;
  step(token: number): Promise<Float32Array>;
  fits(extra: number): boolean;
  close(): Promise<void>;
}

export class LocalEngine implements GenerationEngine {
  readonly cache: KvCache;
  readonly stats: EngineStats = { visionRuns: 0, prefillRuns: 0, prefilledTokens: 0, reusedTokens: 0, decodeSteps: 0 };
  private ropeDelta = 0;
  private readonly visualIds = new Map<string, number>();
  private readonly zeroDeepstackStep: ort.Tensor;
  private readonly maxCacheBytes: number;
  private readonly chunk: number;
  private readonly prefillGraphMinTokens: number;
  private closed = false;

  private constructor(
    readonly files: ModelFiles,
    readonly providers: EngineProviders,
    /** The three sessions, exposed for benchmarks that time the bare graphs (the engine's floor). */
    readonly vision: ort.InferenceSession,
    readonly embedding: ort.InferenceSession,
    readonly decoder: ort.InferenceSession,
    /** The int8 twin of the decoder for prefill chunks, when the build has one. */
    readonly prefillDecoder: ort.InferenceSession | undefined,
    options: EngineOptions,
  ) {
    const m = files.manifest.model;
    this.maxCacheBytes = options.maxCacheBytes ?? DEFAULT_MAX_CACHE_BYTES;
    const dtype = files.manifest.kvDtype ?? "float32";
    const bytesPerToken = cacheBytesPerToken({
      numLayers: m.numLayers,
      numKeyValueHeads: m.numKeyValueHeads,
      headDim: m.headDim,
      dtype,
    });
    // "gqa-shared" and "append" decoders read the cache from fixed-capacity buffers the engine owns
    // (contract.ts): the first writes into them in place, the second returns only the new positions.
    const attention = files.manifest.attention;
    const limits = {
      maxTokens: Math.max(1, Math.floor(this.maxCacheBytes / bytesPerToken)),
      ...(options.cacheCapacityTokens !== undefined ? { initialTokens: options.cacheCapacityTokens } : {}),
    };
    this.cache = new KvCache({
      numLayers: m.numLayers,
      numKeyValueHeads: m.numKeyValueHeads,
      headDim: m.headDim,
      dtype,
      ...(attention === "gqa-shared" ? { shared: limits } : {}),
      ...(attention === "append" ? { append: limits, layout: files.manifest.kvLayout ?? "heads-first" } : {}),
    });
    this.zeroDeepstackStep = new ort.Tensor("float32", new Float32Array(m.deepstackLayers * m.hiddenSize), [
      1,
      1,
      m.deepstackLayers * m.hiddenSize,
    ]);
    this.chunk = options.prefillChunkTokens ?? (files.manifest.logits === "all" ? 128 : 512);
    if (!Number.isInteger(this.chunk) || this.chunk <= 0) {
      throw new SquintError("INVALID_ARGUMENT", `prefillChunkTokens must be a positive integer, got ${this.chunk}`);
    }
    this.prefillGraphMinTokens = options.prefillGraphMinTokens ?? PREFILL_GRAPH_MIN_TOKENS;
    if (!Number.isInteger(this.prefillGraphMinTokens) || this.prefillGraphMinTokens < 1) {
      throw new SquintError(
        "INVALID_ARGUMENT",
        `prefillGraphMinTokens must be a positive integer, got ${this.prefillGraphMinTokens}`,
      );
    }
  }

  static async open(files: ModelFiles, options: EngineOptions = {}): Promise<LocalEngine> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const candidates = providerCandidates(options.executionProvider ?? "auto");
    const m = files.manifest;
    const open = async (graph: EngineGraph, deviceOutputs: string[] = []) => {
      // The embedding graph is one Gather: a single thread, and none left spinning after it.
      const small = graph === "embedding";
      // The buffered decoders read (and gqa-shared writes) CPU tensors the engine owns: CPU EP only (contract.ts).
      const decoderGraph = graph === "decoder" || graph === "prefill";
      const sharedDecoder = decoderGraph && (m.attention === "gqa-shared" || m.attention === "append");
      const opened = await openSession(
        sharedDecoder ? ["cpu"] : candidates,
        {
          path: join(files.dir, graphFile(m, graph)),
          deviceOutputs,
          threads: small ? 1 : options.threads,
          spinning: decoderGraph,
        },
        log,
      );
      options.onProgress?.({ stage: "session", graph, provider: opened.provider });
      return opened;
    };
    const presents = Array.from({ length: m.model.numLayers }, (_, l) => [
      presentKeyName(l),
      presentValueName(l),
    ]).flat();
    // One at a time: loading three sessions at once only contends for the same cores and memory.
    const decoderOutputs = m.attention === "gqa-shared" || m.attention === "append" ? [] : presents;
    const decoder = await open("decoder", decoderOutputs);
    const prefill = m.graphs.prefill ? await open("prefill", decoderOutputs) : undefined;
    const embedding = await open("embedding");
    const vision = await open("vision");
    return new LocalEngine(
      files,
      { vision: vision.provider, embedding: embedding.provider, decoder: decoder.provider },
      vision.session,
      embedding.session,
      decoder.session,
      prefill?.session,
      options,
    );
  }

  get cacheLimitTokens(): number {
    return Math.floor(this.maxCacheBytes / this.cache.bytesPerToken);
  }

  /** Interned ids for visual keys (0 is text). */
  private visualId(key: string): number {
    let id = this.visualIds.get(key);
    if (id === undefined) {
      id = this.visualIds.size + 1;
      this.visualIds.set(key, id);
    }
    return id;
  }

  private checkBudget(tokens: number): void {
    const bytes = tokens * this.cache.bytesPerToken;
    if (bytes > this.maxCacheBytes) {
      throw new SquintError(
        "OUT_OF_MEMORY_BUDGET",
        `This request needs ${tokens} tokens of KV cache (${formatBytes(bytes)}), over the ${formatBytes(this.maxCacheBytes)} budget (${this.cacheLimitTokens} tokens).`,
        {
          hint: "Shorten the conversation or use fewer/smaller images (lower maxPixels), or raise maxCacheBytes if the machine has the memory.",
          details: { tokens, bytes, maxCacheBytes: this.maxCacheBytes },
        },
      );
    }
  }

  private checkOpen(): void {
    if (this.closed)
      throw new SquintError("BACKEND_FAILED", "The local engine was closed.", {
        hint: "Create a new backend with createLocalBackend().",
      });
  }

  /**
   * Makes the cache hold `ids` and returns the last position's logits. The longest common prefix with the
   * cache is kept (token ids and image identities must match); the rest is prefilled in chunks, with the
   * positions of the whole sequence recomputed (spec §11) and vision features computed only for the
   * visuals that have tokens in the new part.
   */
  async prefill(ids: readonly number[], visuals: readonly VisualInput[], signal?: AbortSignal): Promise<PrefillResult> {
    this.checkOpen();
    if (ids.length === 0) {
      throw new SquintError("INVALID_ARGUMENT", "Cannot prefill an empty prompt.", {
        hint: "Give at least one token.",
      });
    }
    this.checkBudget(ids.length);
    const cfg = this.files.config;
    const merge = cfg.vision.spatialMergeSize;
    const map = mapVisualTokens(ids, visuals, {
      imageTokenId: cfg.imageTokenId,
      videoTokenId: cfg.videoTokenId,
      merge,
    });
    const keyIds = visuals.map((visual) => this.visualId(`${visual.kind}:${visual.key}:${visual.grid.join("x")}`));
    const visualKeys = Int32Array.from(map.owner, (owner) => (owner < 0 ? 0 : keyIds[owner]!));
    const rope = ropePositions(ids, {
      imageGrids: visuals.filter((v) => v.kind === "image").map((v) => v.grid),
      videoGrids: visuals.filter((v) => v.kind === "video").map((v) => v.grid),
      imageTokenId: cfg.imageTokenId,
      videoTokenId: cfg.videoTokenId,
      visionStartTokenId: cfg.visionStartTokenId,
      spatialMergeSize: merge,
    });

    // At least the last token is recomputed: its logits are what the caller needs.
    let keep = Math.min(commonPrefixLength(this.cache, ids, visualKeys), ids.length - 1);
    if (keep < this.cache.length) keep = this.cache.truncate(keep);

    const needed = new Set<number>();
    for (let i = keep; i < ids.length; i++) if (map.owner[i]! >= 0) needed.add(map.owner[i]!);
    const features = new Map<number, VisualFeatures>();
    for (const index of [...needed].sort((a, b) => a - b)) {
      throwIfAborted(signal);
      features.set(index, await this.encodeVisual(visuals[index]!, signal));
    }

    const H = this.files.manifest.model.hiddenSize;
    const D = this.files.manifest.model.deepstackLayers;
    let logits: Float32Array | undefined;
    for (let start = keep; start < ids.length; start += this.chunk) {
      throwIfAborted(signal);
      const end = Math.min(ids.length, start + this.chunk);
      const chunkIds = ids.slice(start, end);
      const embeds = await this.embed(chunkIds);
      const deepstack = new Float32Array(chunkIds.length * D * H);
      for (let i = start; i < end; i++) {
        const owner = map.owner[i]!;
        if (owner < 0) continue;
        const f = features.get(owner)!;
        const r = map.row[i]!;
        const at = i - start;
        embeds.set(f.features.subarray(r * H, (r + 1) * H), at * H);
        for (let j = 0; j < D; j++) deepstack.set(f.deepstack[j]!.subarray(r * H, (r + 1) * H), (at * D + j) * H);
      }
      const positions = rope.positions.map((row) => row.subarray(start, end)) as [Int32Array, Int32Array, Int32Array];
      this.stats.prefillRuns++;
      this.stats.prefilledTokens += chunkIds.length;
      logits = await this.runDecoder(
        embeds,
        positions,
        new ort.Tensor("float32", deepstack, [1, chunkIds.length, D * H]),
        chunkIds,
        visualKeys.subarray(start, end),
      );
    }
    this.ropeDelta = rope.ropeDelta;
    this.stats.reusedTokens += keep;
    return { logits: logits!, reusedTokens: keep };
  }

  /** Feeds one generated token; returns the next logits. */
  async step(token: number): Promise<Float32Array> {
    this.checkOpen();
    this.checkBudget(this.cache.length + 1);
    const position = this.cache.length + this.ropeDelta;
    const row = Int32Array.of(position);
    const embeds = await this.embed([token]);
    this.stats.decodeSteps++;
    return this.runDecoder(embeds, [row, row, row], this.zeroDeepstackStep, [token], [0]);
  }

  /** Whether `extra` more tokens fit in the cache budget. */
  fits(extra: number): boolean {
    return (this.cache.length + extra) * this.cache.bytesPerToken <= this.maxCacheBytes;
  }

  private async encodeVisual(visual: VisualInput, signal: AbortSignal | undefined): Promise<VisualFeatures> {
    const m = this.files.manifest.model;
    const [t, gh, gw] = visual.grid;
    const n = gh * gw;
    const patchDim = m.visionPatchInput;
    if (visual.pixelValues.length !== t * n * patchDim) {
      throw new SquintError(
        "INVALID_ARGUMENT",
        `A ${visual.kind} with grid [${visual.grid.join(", ")}] needs ${t * n * patchDim} pixel values, got ${visual.pixelValues.length}.`,
        { hint: "Pass the pixelValues that preprocessing returned with this grid." },
      );
    }
    const side = visionSegmentInputs(gh, gw, this.files.config.vision, this.files.manifest.mutation);
    const tokensPerSegment = n / (m.spatialMergeSize * m.spatialMergeSize);
    const H = m.hiddenSize;
    const features = new Float32Array(t * tokensPerSegment * H);
    const deepstack = Array.from({ length: m.deepstackLayers }, () => new Float32Array(features.length));
    // One run per attention segment (an image, or one 2-frame group of a video): contract.ts.
    for (let s = 0; s < t; s++) {
      throwIfAborted(signal);
      this.stats.visionRuns++;
      const out = await this.vision.run({
        [VISION_INPUTS.pixelValues]: new ort.Tensor(
          "float32",
          visual.pixelValues.subarray(s * n * patchDim, (s + 1) * n * patchDim),
          [n, patchDim],
        ),
        [VISION_INPUTS.posEmbedIndices]: new ort.Tensor("int64", side.posEmbedIndices, [n, 4]),
        [VISION_INPUTS.posEmbedWeights]: new ort.Tensor("float32", side.posEmbedWeights, [n, 4]),
        [VISION_INPUTS.rotaryPositions]: new ort.Tensor("int64", side.rotaryPositions, [n, 2]),
      });
      features.set(floatOutput(out, VISION_OUTPUTS.imageFeatures), s * tokensPerSegment * H);
      for (let j = 0; j < m.deepstackLayers; j++) {
        deepstack[j]!.set(floatOutput(out, deepstackFeaturesName(j)), s * tokensPerSegment * H);
      }
    }
    return { features, deepstack };
  }

  /** Token embeddings `[S·H]` from the embedding graph. */
  async embed(ids: readonly number[]): Promise<Float32Array> {
    const out = await this.embedding.run({
      [EMBEDDING_INPUTS.inputIds]: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
    });
    // A fresh array per run, so writing image features into it is safe.
    return floatOutput(out, EMBEDDING_OUTPUTS.inputsEmbeds);
  }

  private async runDecoder(
    embeds: Float32Array,
    positions: readonly [Int32Array, Int32Array, Int32Array],
    deepstack: ort.Tensor,
    tokens: ArrayLike<number>,
    visualKeys: ArrayLike<number>,
  ): Promise<Float32Array> {
    const m = this.files.manifest.model;
    const s = tokens.length;
    const total = this.cache.length + s;
    const pos = new BigInt64Array(3 * s);
    for (let a = 0; a < 3; a++) for (let i = 0; i < s; i++) pos[a * s + i] = BigInt(positions[a][i]!);
    const feeds: Record<string, ort.Tensor> = {
      [DECODER_INPUTS.inputsEmbeds]: new ort.Tensor("float32", embeds, [1, s, m.hiddenSize]),
      [DECODER_INPUTS.attentionMask]: new ort.Tensor("int64", onesInt64(total), [1, total]),
      [DECODER_INPUTS.positionIds]: new ort.Tensor("int64", pos, [3, 1, s]),
      [DECODER_INPUTS.deepstackEmbeds]: deepstack,
    };
    const shared = this.files.manifest.attention === "gqa-shared";
    const append = this.files.manifest.attention === "append";
    this.cache.reserve(total);
    // Shared-buffer decoder: the same tensors are the past inputs and the preallocated present outputs, so
    // ORT's GroupQueryAttention writes the new positions in place (past_present_share_buffer). The binding
    // (onnxruntime-node 1.30) still returns a fresh copy of each present output; those copies are dropped.
    const fetches: Record<string, ort.Tensor | null> = { [DECODER_OUTPUTS.logits]: null };
    const past = this.cache.pastInputs();
    for (let l = 0; l < m.numLayers; l++) {
      feeds[pastKeyName(l)] = past.keys[l]!;
      feeds[pastValueName(l)] = past.values[l]!;
      if (shared) {
        fetches[presentKeyName(l)] = this.cache.keys[l]!;
        fetches[presentValueName(l)] = this.cache.values[l]!;
      }
    }
    const session = this.prefillDecoder && s >= this.prefillGraphMinTokens ? this.prefillDecoder : this.decoder;
    const out = shared ? await session.run(feeds, fetches) : await session.run(feeds);
    const logitsTensor = out[DECODER_OUTPUTS.logits];
    const keys = Array.from({ length: m.numLayers }, (_, l) => out[presentKeyName(l)] as ort.Tensor);
    const values = Array.from({ length: m.numLayers }, (_, l) => out[presentValueName(l)] as ort.Tensor);
    if (shared) this.cache.advanceShared(keys, values, tokens, visualKeys);
    else if (append) this.cache.append(keys, values, tokens, visualKeys);
    else this.cache.advance(keys, values, tokens, visualKeys);
    if (!logitsTensor || !(logitsTensor.data instanceof Float32Array)) {
      throw new SquintError("BACKEND_FAILED", "The decoder returned no float32 logits.", {
        hint: "The graphs do not follow the decoder contract; rebuild them with `squint models build`.",
      });
    }
    const V = m.vocabSize;
    const data = logitsTensor.data;
    // [1, 1, V] (every decode step): the binding's fresh copy is already the row, so it is returned as is —
    // a second vocabulary-sized copy per step only feeds malloc (600 KB at V = 151936, see bench/http/load.ts).
    // [1, S, V]: the last row, copied so the big tensor can be collected.
    return data.length === V ? data : data.slice(data.length - V);
  }

  /** Frees the sessions and the cache. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cache.dispose();
    await Promise.all([
      this.vision.release(),
      this.embedding.release(),
      this.decoder.release(),
      this.prefillDecoder?.release(),
    ]);
  }
}

function graphFile(m: ModelFiles["manifest"], graph: EngineGraph): string {
  if (graph !== "prefill") return m.graphs[graph].file;
  const entry = m.graphs.prefill;
  if (!entry) throw new SquintError("INTERNAL", "this build has no prefill decoder");
  return entry.file;
}

/** A grown-on-demand buffer of int64 ones: the attention mask is all ones for batch 1. */
let ones = new BigInt64Array(0);
function onesInt64(length: number): BigInt64Array {
  if (ones.length < length) ones = new BigInt64Array(Math.max(length, ones.length * 2, 1024)).fill(1n);
  return ones.subarray(0, length);
}

function floatOutput(out: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const tensor = out[name];
  if (!tensor || !(tensor.data instanceof Float32Array)) {
    throw new SquintError("BACKEND_FAILED", `The graph returned no float32 output ${name}.`, {
      hint: "The graphs do not follow the contract; rebuild them with `squint models build`.",
    });
  }
  return tensor.data;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SquintError("ABORTED", "Generation was aborted.");
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

export type { GridThw, VisualInput };
