import { beforeAll, describe, expect, it } from "vitest";
import type { GridThw } from "../../src/model/positions.js";
import { LocalEngine } from "../../src/runtime/local/engine.js";
import { loadModelFiles } from "../../src/runtime/local/model-files.js";
import type { VisualInput } from "../../src/runtime/local/visual-inputs.js";
import { argmax, referenceGreedy } from "../support/reference/model.js";
import { syntheticPrompt } from "../support/reference/prompt-fixture.js";
import type { VisualGrid } from "../support/reference/rope-index.js";
import { type ReferenceCheckpoint, loadReferenceCheckpoint } from "../support/reference/weights.js";
import { builtGraphs } from "./built-graphs.js";
import { FP32_BOUND, parityCheckpoint, lastLogits, relativeError, TEXT_ID_LIMIT } from "./fixture.js";
import { graphAppend, graphGreedyFrom, graphPrefill } from "./graph-pipeline.js";
import { OrtGraphs } from "./ort-graphs.js";

/**
 * Issue 4 §3, last point: user image → generated reply → tool response with a new image → generate
 * again. Reusing the KV cache and prefilling only the new turn (positions recomputed over the whole
 * sequence, spec §11) must give the same tokens as recomputing everything. Written against the ORT graphs
 * directly, then through the local engine.
 */
const IM_START = 151644;
const IM_END = 151645;
const TOOL_RESPONSE = 151665;
const TOOL_RESPONSE_END = 151666;
const NEWLINE = 198;
const USER = 872;
const ASSISTANT = 77091;
const STEPS = 8;

let ck: ReferenceCheckpoint;
let dir: string;

beforeAll(async () => {
  dir = await parityCheckpoint();
  ck = loadReferenceCheckpoint(dir);
});

/** `<|vision_start|> pads <|vision_end|>` for one image grid, and its pixels. */
/** The end of the assistant turn, then a user turn carrying one tool response with an image, then the new assistant header. */
function toolResponseTurn(imageIds: number[]): number[] {
  const user = [
    IM_START,
    USER,
    NEWLINE,
    TOOL_RESPONSE,
    NEWLINE,
    ...imageIds,
    NEWLINE,
    TOOL_RESPONSE_END,
    IM_END,
    NEWLINE,
  ];
  return [IM_END, NEWLINE, ...user, IM_START, ASSISTANT, NEWLINE];
}

function imageBlock(grid: VisualGrid, seed: number): { ids: number[]; pixels: Float64Array } {
  const p = syntheticPrompt(ck.config, [{ kind: "image", grid }], seed, TEXT_ID_LIMIT);
  const start = p.ids.indexOf(ck.config.visionStartTokenId);
  const end = p.ids.indexOf(ck.config.visionEndTokenId);
  return { ids: p.ids.slice(start, end + 1), pixels: p.pixels };
}

describe("multi-turn with a tool image: KV-cache reuse equals full recompute", () => {
  // "gqa" appends a multi-token segment to a cache through com.microsoft GroupQueryAttention.
  it.each(["plain", "gqa"] as const)("over the ORT graphs directly (%s attention)", async (attention) => {
    const graphs = await OrtGraphs.open(await builtGraphs(dir, { dtype: "fp32", attention }));
    expect(graphs.manifest.attention).toBe(attention);
    const gridA = { t: 1, h: 4, w: 6 };
    const gridB = { t: 1, h: 6, w: 4 };
    const a = imageBlock(gridA, 21);
    const b = imageBlock(gridB, 22);
    const turn1 = [
      IM_START,
      USER,
      NEWLINE,
      ...a.ids,
      4438,
      374,
      419,
      30,
      IM_END,
      NEWLINE,
      IM_START,
      ASSISTANT,
      NEWLINE,
    ];
    const first = await graphPrefill(graphs, ck.config, { ids: turn1, pixels: a.pixels, grids: [gridA] });
    const reply = await graphGreedyFrom(graphs, first, STEPS);

    // The cache holds turn 1 and every reply token but the last; the new segment starts with that token.
    const toolTurn = toolResponseTurn(b.ids);
    const newIds = [reply.tokens[STEPS - 1], ...toolTurn];
    const allIds = [...turn1, ...reply.tokens, ...toolTurn];
    expect(reply.cache.length).toBe(allIds.length - newIds.length);

    const incremental = await graphAppend(
      graphs,
      ck.config,
      allIds,
      [gridA, gridB],
      newIds,
      b.pixels,
      [gridB],
      reply.cache,
    );
    const fromScratch = await graphPrefill(graphs, ck.config, {
      ids: allIds,
      pixels: Float64Array.from([...a.pixels, ...b.pixels]),
      grids: [gridA, gridB],
    });
    const vocab = ck.config.text.vocabSize;
    const error = relativeError(lastLogits(incremental.logits, vocab), lastLogits(fromScratch.logits, vocab));
    console.log(
      `multi-turn (${attention}): last logits, cached vs recomputed: relative difference ${error.toExponential(2)}`,
    );
    expect(error).toBeLessThan(FP32_BOUND);

    // The check can fail: the same segment with naive positions (every row = cache_len + turn-1
    // rope_delta + i) or without its image's DeepStack rows gives other logits.
    const H = ck.config.text.hiddenSize;
    const embeds = await graphs.embed(newIds);
    const rows = newIds.flatMap((id, i) => (id === ck.config.imageTokenId ? [i] : []));
    rows.forEach((r, k) => {
      embeds.set(incremental.vision!.features.subarray(k * H, (k + 1) * H), r * H);
    });
    const naive = newIds.map((_, i) => reply.cache.length + first.rope.ropeDelta + i);
    const deepstack = { rows, features: incremental.vision!.deepstack };
    const naivePositions = await graphs.decode(embeds, [naive, naive, naive], reply.cache, deepstack);
    const recomputedPositions = incremental.rope.rows.map((row) => row.slice(reply.cache.length)) as [
      number[],
      number[],
      number[],
    ];
    const noDeepstack = await graphs.decode(embeds, recomputedPositions, reply.cache);
    const wrong = (logits: Float32Array) =>
      relativeError(lastLogits(logits, vocab), lastLogits(fromScratch.logits, vocab));
    console.log(
      `multi-turn controls: naive positions ${wrong(naivePositions.logits).toExponential(2)}, no DeepStack ${wrong(noDeepstack.logits).toExponential(2)}`,
    );
    expect(wrong(naivePositions.logits)).toBeGreaterThan(100 * FP32_BOUND);
    expect(wrong(noDeepstack.logits)).toBeGreaterThan(100 * FP32_BOUND);

    const again = await graphGreedyFrom(graphs, incremental, STEPS);
    const recomputed = await graphGreedyFrom(graphs, fromScratch, STEPS);
    expect(again.tokens).toEqual(recomputed.tokens);
    // And both agree with the float64 reference over the whole conversation.
    const reference = referenceGreedy(
      ck,
      { ids: allIds, pixels: Float64Array.from([...a.pixels, ...b.pixels]), grids: [gridA, gridB] },
      STEPS,
    );
    expect(again.tokens).toEqual(reference);
    await graphs.release();
  });

  // "gqa-shared": the engine's fixed-capacity cache written in place; truncation and reuse over shared buffers.
  it.each(["plain", "gqa-shared"] as const)(
    "through the local engine (src/runtime/local, %s attention): one engine across turns equals a fresh engine",
    async (attention) => {
      const gridA: GridThw = [1, 4, 6];
      const gridB: GridThw = [1, 6, 4];
      const a = imageBlock({ t: 1, h: 4, w: 6 }, 21);
      const b = imageBlock({ t: 1, h: 6, w: 4 }, 22);
      const imageA: VisualInput = { kind: "image", key: "a", grid: gridA, pixelValues: Float32Array.from(a.pixels) };
      const imageB: VisualInput = { kind: "image", key: "b", grid: gridB, pixelValues: Float32Array.from(b.pixels) };
      const withTokenizer = await parityCheckpoint();
      const built = await builtGraphs(withTokenizer, {
        dtype: "fp32",
        ...(attention === "plain" ? {} : { attention }),
      });
      const files = await loadModelFiles(built, withTokenizer);
      const vocab = ck.config.text.vocabSize;
      const greedy = async (engine: LocalEngine, first: Float32Array) => {
        const tokens = [argmax(first)];
        while (tokens.length < STEPS) tokens.push(argmax(await engine.step(tokens[tokens.length - 1])));
        return tokens;
      };

      const kept = await LocalEngine.open(files, { executionProvider: "cpu", threads: 1 });
      expect(files.manifest.attention).toBe(attention);
      const turn1 = [
        IM_START,
        USER,
        NEWLINE,
        ...a.ids,
        4438,
        374,
        419,
        30,
        IM_END,
        NEWLINE,
        IM_START,
        ASSISTANT,
        NEWLINE,
      ];
      const reply = await greedy(kept, (await kept.prefill(turn1, [imageA])).logits);
      const toolTurn = toolResponseTurn(b.ids);
      const allIds = [...turn1, ...reply, ...toolTurn];
      const second = await kept.prefill(allIds, [imageA, imageB]);
      // Everything fed so far is reused: turn 1 and the reply but its last token (never fed back).
      expect(second.reusedTokens).toBe(turn1.length + STEPS - 1);
      const cachedTokens = await greedy(kept, second.logits);
      await kept.close();

      const fresh = await LocalEngine.open(files, { executionProvider: "cpu", threads: 1 });
      const scratch = await fresh.prefill(allIds, [imageA, imageB]);
      expect(scratch.reusedTokens).toBe(0);
      const error = relativeError(second.logits, scratch.logits);
      console.log(
        `multi-turn (engine, ${attention}): last logits, cached vs fresh engine: relative difference ${error.toExponential(2)}`,
      );
      expect(error).toBeLessThan(FP32_BOUND);
      expect(cachedTokens).toEqual(await greedy(fresh, scratch.logits));
      await fresh.close();
      expect(second.logits).toHaveLength(vocab);
      const reference = referenceGreedy(
        ck,
        {
          ids: allIds,
          pixels: Float64Array.from([...a.pixels, ...b.pixels]),
          grids: [
            { t: 1, h: 4, w: 6 },
            { t: 1, h: 6, w: 4 },
          ],
        },
        STEPS,
      );
      expect(cachedTokens).toEqual(reference);
    },
  );
});
