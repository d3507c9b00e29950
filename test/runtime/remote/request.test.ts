import { describe, expect, it } from "vitest";
import type { ContentPart, Message } from "../../../src/model/messages.js";
import { renderPrompt } from "../../../src/model/prompt.js";
import { greedySampling, instructSampling } from "../../../src/model/sampling.js";
import { remotePresets } from "../../../src/runtime/remote/presets.js";
import {
  type BuildRequestOptions,
  buildChatRequest,
  samplingFields,
  type WireMessage,
} from "../../../src/runtime/remote/request.js";

const options = (messages: Message[], extra: Partial<BuildRequestOptions> = {}): BuildRequestOptions => ({
  model: "m",
  messages,
  toolMode: "native",
  thinking: true,
  sampling: {},
  preset: remotePresets.vllm,
  imageUrl: async (part) => `data:image/png;base64,${part.image}`,
  ...extra,
});

const wireMessages = async (messages: Message[], extra: Partial<BuildRequestOptions> = {}) =>
  (await buildChatRequest(options(messages, extra))).messages as WireMessage[];

/** Back from the wire to our shape, to render both with the same template. */
function fromWire(message: WireMessage): Message {
  if (message.role === "tool") return { role: "tool", content: message.content };
  if (message.role === "assistant") {
    return {
      role: "assistant",
      content: message.content,
      ...(message.reasoning_content === undefined ? {} : { reasoning: message.reasoning_content }),
      ...(message.tool_calls
        ? {
            toolCalls: message.tool_calls.map((call) => ({
              id: call.id,
              name: call.function.name,
              arguments: JSON.parse(call.function.arguments),
            })),
          }
        : {}),
    };
  }
  const content =
    typeof message.content === "string"
      ? message.content
      : message.content.map(
          (part): ContentPart => (part.type === "text" ? part : { type: "image", image: part.image_url.url }),
        );
  return { role: message.role, content };
}

const loop: Message[] = [
  {
    role: "user",
    content: [
      { type: "image", image: "a" },
      { type: "text", text: "Find the two labels." },
    ],
  },
  {
    role: "assistant",
    content: "",
    reasoning: "Two crops.",
    toolCalls: [
      { name: "crop", arguments: { box: [1, 2, 3, 4] } },
      { name: "ocr", arguments: { lang: "en" } },
    ],
  },
  {
    role: "tool",
    content: [
      { type: "image", image: "c1" },
      { type: "text", text: "crop #1" },
    ],
  },
  { role: "tool", content: "OPEN" },
];

describe("buildChatRequest", () => {
  it("turns image-carrying tool results into the user turn the template renders, byte for byte", async () => {
    const wire = await wireMessages(loop);
    expect(wire.map((message) => message.role)).toEqual(["user", "assistant", "user"]);
    for (const thinking of [true, false]) {
      const original = renderPrompt(loop, { thinking }).replace(/<\|image_pad\|>/g, "IMG");
      const sent = renderPrompt(wire.map(fromWire), { thinking }).replace(/<\|image_pad\|>/g, "IMG");
      expect(sent).toBe(original);
    }
  });

  it("keeps text-only tool results as tool messages, pairing them with the calls in order", async () => {
    const wire = await wireMessages([
      { role: "user", content: "q" },
      {
        role: "assistant",
        content: "",
        toolCalls: [
          { id: "x", name: "a", arguments: {} },
          { name: "b", arguments: {} },
        ],
      },
      { role: "tool", content: "ra" },
      { role: "tool", content: [{ type: "text", text: "rb" }] },
    ]);
    expect(wire.slice(1)).toEqual([
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { id: "x", type: "function", function: { name: "a", arguments: "{}" } },
          { id: "call_1_1", type: "function", function: { name: "b", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "x", content: "ra" },
      { role: "tool", tool_call_id: "call_1_1", content: "rb" },
    ]);
  });

  it("sends reasoning back only where the preset says the server reads it", async () => {
    const turn: Message[] = [
      { role: "user", content: "q" },
      { role: "assistant", content: "a", reasoning: "r" },
    ];
    expect((await wireMessages(turn))[1]).toMatchObject({ reasoning_content: "r" });
    expect((await wireMessages(turn, { preset: remotePresets.ollama }))[1]).not.toHaveProperty("reasoning_content");
  });

  it("refuses videos with IMAGE_UNSUPPORTED", async () => {
    await expect(
      wireMessages([{ role: "user", content: [{ type: "video", frames: ["f0", "f1"] }] }]),
    ).rejects.toMatchObject({
      code: "IMAGE_UNSUPPORTED",
    });
  });

  it("switches thinking per preset and merges extraBody last", async () => {
    const body = await buildChatRequest(
      options([{ role: "user", content: "q" }], { thinking: false, extraBody: { stream: true, priority: 1 } }),
    );
    expect(body).toMatchObject({ chat_template_kwargs: { enable_thinking: false }, priority: 1 });
    const dashscope = await buildChatRequest(
      options([{ role: "user", content: "q" }], { preset: remotePresets.dashscope }),
    );
    expect(dashscope).toMatchObject({ enable_thinking: true });
    expect(dashscope).not.toHaveProperty("chat_template_kwargs");
  });
});

describe("samplingFields", () => {
  it("sends tool_choice with native tools only: required, or a named function in OpenAI's shape", async () => {
    const tools = [{ type: "function" as const, function: { name: "f", description: "", parameters: {} } }];
    const messages: Message[] = [{ role: "user", content: "hi" }];
    const body = (extra: Partial<BuildRequestOptions>) => buildChatRequest(options(messages, { tools, ...extra }));
    expect((await body({ toolChoice: "required" })).tool_choice).toBe("required");
    expect((await body({ toolChoice: { name: "f" } })).tool_choice).toEqual({
      type: "function",
      function: { name: "f" },
    });
    expect(await body({ toolChoice: "auto" })).not.toHaveProperty("tool_choice");
    // Prompt mode has no `tools` field for the server to constrain to; the caller checks the reply instead.
    expect(await body({ toolChoice: "required", toolMode: "prompt" })).not.toHaveProperty("tool_choice");
  });

  it("maps the Instruct preset to vLLM's fields", () => {
    expect(samplingFields(instructSampling, remotePresets.vllm)).toEqual({
      temperature: 0.7,
      top_p: 0.8,
      top_k: 20,
      min_p: 0,
      presence_penalty: 1.5,
      repetition_penalty: 1,
    });
  });

  it("sends only OpenAI fields to Ollama", () => {
    expect(samplingFields({ ...instructSampling, seed: 7 }, remotePresets.ollama)).toEqual({
      temperature: 0.7,
      top_p: 0.8,
      presence_penalty: 1.5,
      seed: 7,
    });
  });

  it("sends greedy as temperature 0 without top-p/top-k", () => {
    expect(samplingFields(greedySampling, remotePresets.vllm)).toEqual({
      temperature: 0,
      presence_penalty: 0,
      repetition_penalty: 1,
    });
  });

  it("writes top-k off as -1 for vLLM and leaves it out for DashScope", () => {
    expect(samplingFields({ doSample: true, topK: 0 }, remotePresets.vllm)).toEqual({ top_k: -1 });
    expect(samplingFields({ doSample: true, topK: 0 }, remotePresets.dashscope)).toEqual({});
  });
});
