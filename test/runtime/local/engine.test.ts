import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../../../src/model/messages.js";
import type { BackendEvent, GenerateRequest } from "../../../src/runtime/backend.js";
import { LocalEngine } from "../../../src/runtime/local/engine.js";
import { LocalBackend } from "../../../src/runtime/local/local-backend.js";
import { loadModelFiles, type ModelFiles } from "../../../src/runtime/local/model-files.js";
import { preparePrompt } from "../../../src/runtime/local/prompt-inputs.js";
import { tinyBuilt } from "./engine-fixture.js";

/**
 * The engine over a tiny random Qwen3-VL built to ONNX (fp32, CPU provider). The model's answers are
 * meaningless; what is checked is the plumbing: a turn that reuses the KV cache gives exactly what a
 * recompute from scratch gives, images are told apart by their pixels, chunking does not change logits,
 * and the cache budget, the provider fallback and abort behave.
 */
let files: ModelFiles;
let engine: LocalEngine;
let backend: LocalBackend;
const logLines: string[] = [];

/** Deterministic RGB noise: different seeds give different pictures of the same size. */
function picture(width: number, height: number, seed: number) {
  const data = new Uint8Array(width * height * 3);
  let state = seed * 2654435761;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return { width, height, data };
}

const images: Record<string, ReturnType<typeof picture>> = {
  a: picture(96, 64, 1),
  b: picture(64, 96, 2),
  c: picture(96, 64, 3),
};

function request(messages: Message[], extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    messages,
    maxOutputTokens: 6,
    sampling: { doSample: false },
    // Small images: 64×96 at min_pixels 65536 would be resized up to 256 tokens; keep turns short.
    resolveImage: async (reference) => images[reference]!,
    ...extra,
  };
}

async function run(req: GenerateRequest): Promise<{ events: BackendEvent[]; text: string }> {
  const events: BackendEvent[] = [];
  for await (const event of backend.generate(req)) events.push(event);
  const text = events.map((e) => (e.type === "reasoning-delta" || e.type === "text-delta" ? e.text : "")).join("");
  return { events, text };
}

const turn1: Message[] = [
  {
    role: "user",
    content: [
      { type: "image", image: "a", maxPixels: 64 * 64 * 4, minPixels: 32 * 32 },
      { type: "text", text: "What is written on the sign?" },
    ],
  },
];

function turn2(reply: string, toolImage: string): Message[] {
  return [
    ...turn1,
    {
      role: "assistant",
      content: "",
      reasoning: reply,
      toolCalls: [{ name: "image_zoom_in_tool", arguments: { bbox_2d: [0, 0, 500, 500], label: "sign", img_idx: 0 } }],
    },
    { role: "tool", content: [{ type: "image", image: toolImage, maxPixels: 64 * 64 * 4, minPixels: 32 * 32 }] },
  ];
}

beforeAll(async () => {
  const { checkpoint, built } = await tinyBuilt("fp32");
  files = await loadModelFiles(built, checkpoint);
  engine = await LocalEngine.open(files, { executionProvider: "cpu", threads: 1, log: (line) => logLines.push(line) });
  backend = new LocalBackend(engine, { name: "tiny", thinking: true, minPixels: 1024, maxPixels: 16384 });
}, 300_000);

afterAll(async () => {
  await backend?.close();
});

describe("local engine on a tiny checkpoint (CPU)", () => {
  it("multi-turn with a tool image: the cached turn equals the recomputed turn", async () => {
    engine.cache.reset();
    const first = await run(request(turn1));
    const second = turn2(first.text, "b");
    const before = { ...engine.stats };
    const cached = await run(request(second));
    const visionRuns = engine.stats.visionRuns - before.visionRuns;
    const usage = cached.events.find((e) => e.type === "usage");
    expect(usage?.type === "usage" && usage.cachedPromptTokens).toBeGreaterThan(20);
    // Only the tool's new image went through the vision encoder; image a was in the reused prefix.
    expect(visionRuns).toBe(1);

    // The same comparison on the logits: turn-2 prompt prefilled over the turn-1 cache, then from nothing.
    const prompt2 = await preparePrompt({
      messages: second,
      thinking: true,
      tokenizer: files.tokenizer,
      preprocessor: files.preprocessor,
      resolveImage: async (reference) => images[reference]!,
    });
    engine.cache.reset();
    await run(request(turn1));
    const cachedPrefill = await engine.prefill(prompt2.ids, prompt2.visuals);
    expect(cachedPrefill.reusedTokens).toBeGreaterThan(20);
    const cachedLogits = cachedPrefill.logits;

    engine.cache.reset();
    const recomputed = await run(request(second));
    const fresh = recomputed.events.find((e) => e.type === "usage");
    expect(fresh?.type === "usage" && fresh.cachedPromptTokens).toBe(0);
    expect(recomputed.text).toBe(cached.text);
    expect(recomputed.events).toEqual(
      cached.events.map((e) => (e.type === "usage" ? { ...e, cachedPromptTokens: 0 } : e)),
    );
    engine.cache.reset();
    const freshLogits = (await engine.prefill(prompt2.ids, prompt2.visuals)).logits;
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < freshLogits.length; i++) {
      diff = Math.max(diff, Math.abs(freshLogits[i]! - cachedLogits[i]!));
      scale = Math.max(scale, Math.abs(freshLogits[i]!));
    }
    console.log(
      `engine multi-turn: cached vs recomputed logits, max |diff| ${diff.toExponential(2)} (max |logit| ${scale.toFixed(2)})`,
    );
    expect(diff).toBeLessThan(1e-4 * scale);
  }, 120_000);

  it("a different image of the same size is not taken from the cache", async () => {
    engine.cache.reset();
    const withA = await run(request(turn2("Look.", "b")));
    const withC = turn2("Look.", "b");
    const userTurn = withC[0]!;
    if (userTurn.role !== "user" || typeof userTurn.content === "string") throw new Error("fixture");
    userTurn.content = [{ ...userTurn.content[0]!, image: "c" } as (typeof userTurn.content)[0], userTurn.content[1]!];
    const before = engine.stats.visionRuns;
    const changed = await run(request(withC));
    const usage = changed.events.find((e) => e.type === "usage");
    const firstPad = engine.cache.tokens.indexOf(files.config.imageTokenId);
    // Same token ids up to the end, but the cache stops at the first pad of the changed image.
    expect(usage?.type === "usage" && usage.cachedPromptTokens).toBe(firstPad);
    expect(engine.stats.visionRuns - before).toBe(2);
    expect(changed.text).not.toBe(withA.text);
  }, 120_000);

  it("chunked prefill gives the same logits as one call", async () => {
    const ids = files.tokenizer.encode(`<|im_start|>user\n${"count the apples in the basket ".repeat(12)}<|im_end|>\n`);
    engine.cache.reset();
    const whole = (await engine.prefill(ids, [])).logits;
    const small = await LocalEngine.open(files, { executionProvider: "cpu", threads: 1, prefillChunkTokens: 7 });
    try {
      const before = small.stats.prefillRuns;
      const chunked = (await small.prefill(ids, [])).logits;
      expect(small.stats.prefillRuns - before).toBe(Math.ceil(ids.length / 7));
      let diff = 0;
      for (let i = 0; i < whole.length; i++) diff = Math.max(diff, Math.abs(whole[i]! - chunked[i]!));
      expect(diff).toBeLessThan(1e-4);
    } finally {
      await small.close();
    }
  }, 120_000);

  it("a prompt over the cache budget fails with OUT_OF_MEMORY_BUDGET before running", async () => {
    const bytesPerToken = engine.cache.bytesPerToken;
    const tight = await LocalEngine.open(files, {
      executionProvider: "cpu",
      threads: 1,
      maxCacheBytes: 10 * bytesPerToken,
    });
    try {
      const ids = files.tokenizer.encode("one two three four five six seven eight nine ten eleven twelve");
      await expect(tight.prefill(ids, [])).rejects.toMatchObject({ code: "OUT_OF_MEMORY_BUDGET" });
      expect(tight.stats.prefillRuns).toBe(0);
      expect(tight.fits(10)).toBe(true);
      expect(tight.fits(11)).toBe(false);
    } finally {
      await tight.close();
    }
  }, 120_000);

  it("generation stops at the cache budget with finish reason length", async () => {
    const prompt = files.tokenizer.encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n").length;
    const tight = await LocalEngine.open(files, {
      executionProvider: "cpu",
      threads: 1,
      maxCacheBytes: (prompt + 3) * engine.cache.bytesPerToken,
    });
    const small = new LocalBackend(tight, { name: "tight", thinking: true, minPixels: 1024, maxPixels: 16384 });
    try {
      const events: BackendEvent[] = [];
      for await (const e of small.generate(request([{ role: "user", content: "Hi" }], { maxOutputTokens: 50 })))
        events.push(e);
      expect(events.at(-1)).toEqual({ type: "finish", reason: "length" });
      const usage = events.find((e) => e.type === "usage");
      expect(usage?.type === "usage" && usage.outputTokens).toBe(4);
      expect(tight.cache.length).toBe(prompt + 3);
    } finally {
      await small.close();
    }
  }, 120_000);

  it("an unavailable provider falls back to the CPU with one log line", async () => {
    const lines: string[] = [];
    // This onnxruntime-node build lists CUDA but ships without its libraries (users add them with
    // ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node).
    const fallback = await LocalEngine.open(files, {
      executionProvider: "cuda",
      threads: 1,
      log: (l) => lines.push(l),
    });
    try {
      if (fallback.providers.decoder === "cuda") {
        console.log("engine test: CUDA is installed here, so there is no fallback to observe");
        return;
      }
      expect(fallback.providers).toEqual({ vision: "cpu", embedding: "cpu", decoder: "cpu" });
      expect(lines.length).toBe(3);
      expect(lines[0]).toMatch(/the cuda execution provider could not load decoder\.onnx .*falling back to cpu/);
      const ids = files.tokenizer.encode("hello");
      const logits = (await fallback.prefill(ids, [])).logits;
      expect(logits.length).toBe(files.manifest.model.vocabSize);
    } finally {
      await fallback.close();
    }
  }, 120_000);

  it("each decode step's logits are its own vocabulary-sized array, untouched by later steps", async () => {
    engine.cache.reset();
    const ids = files.tokenizer.encode("<|im_start|>user\nstep logits<|im_end|>\n");
    await engine.prefill(ids, []);
    const first = await engine.step(ids[0]!);
    const kept = Float32Array.from(first);
    const second = await engine.step(ids[1]!);
    const V = files.manifest.model.vocabSize;
    expect(first.length).toBe(V);
    expect(second.length).toBe(V);
    // Returned without a copy (engine.ts): the array must still be the step's alone, not a reused buffer.
    expect(second.buffer).not.toBe(first.buffer);
    expect(first).toEqual(kept);
    expect(second).not.toEqual(first);
  }, 120_000);

  it("an aborted prefill leaves a usable cache", async () => {
    engine.cache.reset();
    const controller = new AbortController();
    controller.abort();
    const ids = files.tokenizer.encode("<|im_start|>user\nabort me<|im_end|>\n");
    await expect(engine.prefill(ids, [], controller.signal)).rejects.toMatchObject({ code: "ABORTED" });
    expect(engine.cache.length).toBe(0);
    const result = await engine.prefill(ids, []);
    expect(result.reusedTokens).toBe(0);
    expect(engine.cache.length).toBe(ids.length);
    // Asking again for the same tokens recomputes only the last one (its logits are the answer).
    const again = await engine.prefill(ids, []);
    expect(again.reusedTokens).toBe(ids.length - 1);
    let diff = 0;
    for (let i = 0; i < result.logits.length; i++)
      diff = Math.max(diff, Math.abs(again.logits[i]! - result.logits[i]!));
    expect(diff).toBeLessThan(1e-4);
  }, 120_000);
});
