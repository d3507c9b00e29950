import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isSquintError, type SquintError } from "../../../src/errors.js";
import type { Message, ToolSpec } from "../../../src/model/messages.js";
import type { RawImage } from "../../../src/model/vision.js";
import type { Backend, BackendEvent, GenerateRequest } from "../../../src/runtime/backend.js";
import { createRemoteBackend, type RemoteBackendOptions } from "../../../src/runtime/remote/remote-backend.js";
import { FakeServer, fixture, sse } from "./fake-server.js";

/** A 100×50 horizontal gradient: small enough to be upscaled to the 65 536-pixel minimum (→ 384×192). */
function gradient(width = 100, height = 50): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      data.set([Math.round((x / width) * 255), Math.round((y / height) * 255), 128], (y * width + x) * 3);
  }
  return { width, height, data };
}

const zoomTool: ToolSpec = {
  type: "function",
  function: {
    name: "image_zoom_in_tool",
    description: "Zoom in on a region",
    parameters: { type: "object", properties: { bbox_2d: { type: "array" } }, required: ["bbox_2d"] },
  },
};

const conversation: Message[] = [
  { role: "system", content: "You are a helpful assistant." },
  {
    role: "user",
    content: [
      { type: "image", image: "img-0" },
      { type: "text", text: "What is written on the sign?" },
    ],
  },
];

let server: FakeServer;
const backends: Backend[] = [];
beforeAll(async () => {
  server = await FakeServer.start();
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map((backend) => backend.close()));
  server.requests.length = 0;
});

function backend(options: Partial<RemoteBackendOptions> = {}): Backend {
  const created = createRemoteBackend({
    baseUrl: server.baseUrl,
    model: "Qwen/Qwen3-VL-2B-Thinking",
    retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 20 },
    ...options,
  });
  backends.push(created);
  return created;
}

function requestFor(messages: Message[] = conversation, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { messages, resolveImage: async () => gradient(), ...extra };
}

async function collect(stream: AsyncIterable<BackendEvent>): Promise<{ events: BackendEvent[]; error?: SquintError }> {
  const events: BackendEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
  } catch (error) {
    if (!isSquintError(error)) throw error;
    return { events, error };
  }
  return { events };
}

const text = (events: BackendEvent[], type: "reasoning-delta" | "text-delta") =>
  events.flatMap((event) => (event.type === type ? [event.text] : [])).join("");
const calls = (events: BackendEvent[]) => events.flatMap((event) => (event.type === "tool-call" ? [event.call] : []));
const last = (events: BackendEvent[]) => events[events.length - 1];

describe("remote backend against a vLLM-like server", () => {
  it("streams the `reasoning` field and assembles native tool-call fragments", async () => {
    server.queue(sse("vllm-reasoning-native-tool-call.sse"));
    const { events, error } = await collect(
      backend({ apiKey: "sk-test" }).generate(requestFor(conversation, { tools: [zoomTool] })),
    );
    expect(error).toBeUndefined();
    expect(text(events, "reasoning-delta")).toBe(
      "The sign is small and far away.\nI should zoom in on it before answering.",
    );
    expect(text(events, "text-delta")).toBe("");
    expect(calls(events)).toEqual([
      {
        id: "chatcmpl-tool-5c0e1a7b",
        name: "image_zoom_in_tool",
        arguments: { bbox_2d: [574, 301, 660, 468], label: "sign", img_idx: 0 },
      },
    ]);
    expect(events.slice(-2)).toEqual([
      { type: "usage", inputTokens: 1423, outputTokens: 47 },
      { type: "finish", reason: "tool-calls" },
    ]);
    // More than one reasoning delta: the reply really streamed.
    expect(events.filter((event) => event.type === "reasoning-delta").length).toBeGreaterThan(5);
  });

  it("sends what the Qwen3-VL template expects: resized data-URL images, tools, thinking switch, recommended sampling", async () => {
    server.queue(sse("vllm-reasoning-native-tool-call.sse"));
    const messages: Message[] = [
      ...conversation,
      {
        role: "assistant",
        content: "",
        reasoning: "Zoom first.",
        toolCalls: [{ id: "c1", name: "image_zoom_in_tool", arguments: { bbox_2d: [1, 2, 3, 4] } }],
      },
      { role: "tool", toolCallId: "c1", content: [{ type: "image", image: "crop-1" }] },
    ];
    await collect(
      backend({ apiKey: "sk-test" }).generate(requestFor(messages, { tools: [zoomTool], maxOutputTokens: 512 })),
    );
    const [recorded] = server.requests;
    expect(recorded.url).toBe("/v1/chat/completions");
    expect(recorded.headers.authorization).toBe("Bearer sk-test");
    const body = recorded.body as Record<string, unknown>;
    expect(body).toMatchObject({
      model: "Qwen/Qwen3-VL-2B-Thinking",
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 512,
      tools: [zoomTool],
      chat_template_kwargs: { enable_thinking: true },
      temperature: 1,
      top_p: 0.95,
      top_k: 20,
      presence_penalty: 0,
      repetition_penalty: 1,
    });
    const wire = body.messages as {
      role: string;
      content: unknown;
      reasoning_content?: string;
      tool_calls?: unknown[];
    }[];
    expect(wire.map((message) => message.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(wire[2]).toMatchObject({
      content: "",
      reasoning_content: "Zoom first.",
      tool_calls: [
        { id: "c1", type: "function", function: { name: "image_zoom_in_tool", arguments: '{"bbox_2d":[1,2,3,4]}' } },
      ],
    });
    // The image-carrying tool result went back as the user turn the template would have made of it.
    const toolTurn = wire[3].content as { type: string; text?: string; image_url?: { url: string } }[];
    expect(toolTurn.map((part) => part.type)).toEqual(["text", "image_url", "text"]);
    expect(toolTurn[0].text).toBe("<tool_response>\n");
    expect(toolTurn[2].text).toBe("\n</tool_response>");
    const url = toolTurn[1].image_url!.url;
    expect(url.startsWith("data:image/jpeg;base64,")).toBe(true);
    const meta = await sharp(Buffer.from(url.slice(url.indexOf(",") + 1), "base64")).metadata();
    expect([meta.width, meta.height]).toEqual([384, 192]); // smart_resize of 100×50 with min_pixels 65 536
  });

  it("encodes each image once across turns (each turn resends the conversation)", async () => {
    server.queue(sse("ollama-answer.sse"), sse("ollama-answer.sse"));
    let decoded = 0;
    const resolveImage = async () => {
      decoded++;
      return gradient();
    };
    const remote = backend();
    await collect(remote.generate(requestFor(conversation, { resolveImage })));
    await collect(
      remote.generate(
        requestFor([...conversation, { role: "assistant", content: "OPEN" }, { role: "user", content: "Sure?" }], {
          resolveImage,
        }),
      ),
    );
    expect(decoded).toBe(1);
    const urls = server.requests.map(
      (recorded) => JSON.stringify(recorded.body).match(/data:image\/jpeg;base64,[^"]+/)?.[0],
    );
    expect(urls[0]).toBeDefined();
    expect(urls[1]).toBe(urls[0]);
  });

  it("reads reasoning_content (older vLLM, SGLang) and the cached prompt tokens", async () => {
    server.queue(sse("vllm-reasoning-content-grounding.sse", 11));
    const { events } = await collect(backend().generate(requestFor()));
    expect(text(events, "reasoning-delta")).toBe("Two people are visible; I will box both.");
    expect(text(events, "text-delta")).toContain('{"bbox_2d": [602, 255, 877, 990], "label": "person"}');
    expect(events.slice(-2)).toEqual([
      { type: "usage", inputTokens: 2890, outputTokens: 70, cachedPromptTokens: 2048 },
      { type: "finish", reason: "stop" },
    ]);
  });

  it("splits <think> and reads in-text <tool_call> when the server has no parsers", async () => {
    server.queue(sse("vllm-no-parsers-in-text.sse", 5));
    const { events } = await collect(backend().generate(requestFor()));
    expect(text(events, "reasoning-delta")).toBe("The label is tiny. Zooming.");
    expect(text(events, "text-delta")).toBe("Let me look closer.");
    expect(calls(events).map(({ name, arguments: args }) => ({ name, args }))).toEqual([
      { name: "image_zoom_in_tool", args: { bbox_2d: [10, 20, 200, 220], label: "label", img_idx: 0 } },
    ]);
    expect(last(events)).toEqual({ type: "finish", reason: "tool-calls" });
  });

  it("recovers a call the server left inside the reasoning", async () => {
    server.queue(sse("vllm-call-inside-reasoning.sse"));
    const { events } = await collect(backend().generate(requestFor()));
    expect(text(events, "reasoning-delta")).toBe("The text on the mug is blurry. I need a closer look.");
    expect(calls(events)).toMatchObject([
      { name: "image_zoom_in_tool", arguments: { bbox_2d: [420, 310, 560, 470], label: "mug logo" } },
    ]);
    expect(last(events)).toEqual({ type: "finish", reason: "tool-calls" });
  });

  it("leaves such a call as reasoning when callsFromReasoning is off", async () => {
    server.queue(sse("vllm-call-inside-reasoning.sse"));
    const { events } = await collect(backend({ callsFromReasoning: false }).generate(requestFor()));
    expect(calls(events)).toEqual([]);
    expect(text(events, "reasoning-delta")).toContain('<tool_call>\n{"name": "image_zoom_in_tool"');
    expect(last(events)).toEqual({ type: "finish", reason: "stop" });
  });

  it("reports a reply cut by the token limit as finish: length", async () => {
    server.queue(sse("vllm-length.sse"));
    const { events } = await collect(backend().generate(requestFor()));
    expect(text(events, "reasoning-delta")).toBe("Let me count the windows one by one: first floor has");
    expect(last(events)).toEqual({ type: "finish", reason: "length" });
  });

  it("throws a BACKEND_FAILED with the server's message for an error event mid-stream", async () => {
    server.queue(sse("vllm-error-mid-stream.sse"));
    const { events, error } = await collect(backend().generate(requestFor()));
    expect(text(events, "reasoning-delta").length).toBeGreaterThan(0);
    expect(error?.code).toBe("BACKEND_FAILED");
    expect(error?.message).toMatch(/CUDA out of memory while decoding/);
  });
});

describe("remote backend against an Ollama-like server", () => {
  it("reads Ollama's `reasoning` field and its one-chunk tool calls; sends no vLLM-only fields", async () => {
    server.queue(sse("ollama-reasoning-tool-call.sse"));
    const ollama = backend({ preset: "ollama", model: "qwen3-vl:8b-thinking" });
    const { events } = await collect(ollama.generate(requestFor(conversation, { tools: [zoomTool] })));
    expect(text(events, "reasoning-delta")).toBe("The flag is small; zoom.");
    expect(calls(events)).toEqual([
      {
        id: "call_m1x2k9q3",
        name: "image_zoom_in_tool",
        arguments: { bbox_2d: [700, 80, 820, 210], img_idx: 0, label: "flag" },
      },
    ]);
    expect(last(events)).toEqual({ type: "finish", reason: "tool-calls" });
    const body = server.requests[0].body as Record<string, unknown>;
    expect(body).not.toHaveProperty("top_k");
    expect(body).not.toHaveProperty("chat_template_kwargs");
    expect(body).toMatchObject({ model: "qwen3-vl:8b-thinking", temperature: 1, top_p: 0.95 });
    expect(ollama.info).toMatchObject({ thinking: true, name: expect.stringContaining("remote:ollama") });
  });

  it("streams an answer after the reasoning", async () => {
    server.queue(sse("ollama-answer.sse", 3));
    const { events } = await collect(backend({ preset: "ollama" }).generate(requestFor()));
    expect(text(events, "reasoning-delta")).toBe("It says OPEN.");
    expect(text(events, "text-delta")).toBe('The sign says "OPEN".');
    expect(events.slice(-2)).toEqual([
      { type: "usage", inputTokens: 700, outputTokens: 12 },
      { type: "finish", reason: "stop" },
    ]);
  });
});

describe("remote backend failures", () => {
  it.each([
    [
      "vLLM: unknown model",
      404,
      '{"object":"error","message":"The model `foo` does not exist.","type":"NotFoundError","param":null,"code":404}',
      "BACKEND_FAILED",
      /answered 404: The model `foo` does not exist\./,
      /model name/,
    ],
    [
      "Ollama: model not pulled",
      404,
      '{"error":{"message":"model \\"foo\\" not found, try pulling it first","type":"api_error","param":null,"code":null}}',
      "BACKEND_FAILED",
      /model "foo" not found, try pulling it first/,
      /\/v1\/models/,
    ],
    [
      "bad key",
      401,
      '{"error":{"message":"Incorrect API key provided"}}',
      "UNAUTHORIZED",
      /401: Incorrect API key/,
      /apiKey/,
    ],
    [
      "vLLM without a tool parser",
      400,
      '{"object":"error","message":"\\"auto\\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set","type":"BadRequestError","param":null,"code":400}',
      "BACKEND_FAILED",
      /tool choice requires/,
      /toolMode: "prompt"/,
    ],
  ])("%s: names the URL and status and says what to do", async (_name, status, body, code, message, hint) => {
    server.queue({ status, body });
    const { error } = await collect(backend().generate(requestFor()));
    expect(error?.code).toBe(code);
    expect(error?.message).toContain(`${server.baseUrl}/chat/completions`);
    expect(error?.message).toMatch(message);
    expect(error?.hint).toMatch(hint);
    expect(server.requests).toHaveLength(1); // not retried
  });

  it("retries 503 and 429 (honouring Retry-After) before the reply begins", async () => {
    server.queue(
      { status: 503, body: "overloaded" },
      { status: 429, headers: { "retry-after": "0" }, body: "{}" },
      sse("ollama-answer.sse"),
    );
    const { events, error } = await collect(backend().generate(requestFor()));
    expect(error).toBeUndefined();
    expect(text(events, "text-delta")).toBe('The sign says "OPEN".');
    expect(server.requests).toHaveLength(3);
  });

  it("gives up after the retries with the last status", async () => {
    server.queue(
      { status: 502, body: "bad gateway" },
      { status: 502, body: "bad gateway" },
      { status: 502, body: "bad gateway" },
    );
    const { error } = await collect(backend().generate(requestFor()));
    expect(error?.message).toMatch(/answered 502: bad gateway \(after 3 attempts\)/);
    expect(server.requests).toHaveLength(3);
  });

  it("retries a connection dropped before any data", async () => {
    server.queue({ ...sse("ollama-answer.sse"), dropAfterBytes: 0 }, sse("ollama-answer.sse"));
    const { events, error } = await collect(backend().generate(requestFor()));
    expect(error).toBeUndefined();
    expect(last(events)).toEqual({ type: "finish", reason: "stop" });
    expect(server.requests).toHaveLength(2);
  });

  it("does not retry a connection dropped mid-reply, and says the reply was cut off", async () => {
    // Paced so the client reads the first chunks before the socket dies (else they may be lost with it).
    server.queue({ ...sse("vllm-reasoning-native-tool-call.sse"), chunkSize: 200, delayMs: 15, dropAfterBytes: 2000 });
    const { events, error } = await collect(backend().generate(requestFor()));
    expect(text(events, "reasoning-delta").length).toBeGreaterThan(0);
    expect(error?.code).toBe("BACKEND_FAILED");
    expect(error?.message).toMatch(/was cut off/);
    expect(error?.details).toMatchObject({ partial: true });
    expect(server.requests).toHaveLength(1);
  });

  it("names the URL when nothing listens there", async () => {
    const closed = await FakeServer.start();
    const url = closed.baseUrl;
    await closed.close();
    const { error } = await collect(
      backend({ baseUrl: url, retry: { retries: 1, baseDelayMs: 1 } }).generate(requestFor()),
    );
    expect(error?.message).toMatch(
      new RegExp(`Cannot reach ${url.replace(/[.]/g, "\\.")}/chat/completions: .*ECONNREFUSED`),
    );
    expect(error?.hint).toMatch(/server is running/);
  });

  it("refuses a server that does not stream events", async () => {
    server.queue({ status: 200, headers: { "content-type": "text/html" }, body: "<html>login</html>" });
    const { error } = await collect(backend().generate(requestFor()));
    expect(error?.message).toMatch(/text\/html, not an event stream/);
  });

  it("accepts a server that ignored stream: true and answered one JSON completion", async () => {
    const completion = {
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "OPEN", reasoning_content: "Read it." },
          finish_reason: "stop",
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 3 },
    };
    server.queue({ status: 200, body: JSON.stringify(completion) });
    const { events } = await collect(backend().generate(requestFor()));
    expect(text(events, "reasoning-delta")).toBe("Read it.");
    expect(text(events, "text-delta")).toBe("OPEN");
    expect(last(events)).toEqual({ type: "finish", reason: "stop" });
  });

  it("times out a silent server with a hint about idleMs", async () => {
    server.queue({
      ...sse("ollama-answer.sse"),
      body: fixture("ollama-answer.sse").slice(0, 300),
      chunkSize: 300,
      delayMs: 1500,
    });
    const { error } = await collect(
      backend({ retry: { retries: 0 }, timeouts: { idleMs: 300 } }).generate(requestFor()),
    );
    expect(error?.hint).toMatch(/idleMs/);
  });

  it("ends with finish: aborted when the caller aborts mid-stream", async () => {
    server.queue({ ...sse("ollama-answer.sse"), chunkSize: 200, delayMs: 100 });
    const controller = new AbortController();
    const events: BackendEvent[] = [];
    for await (const event of backend().generate(requestFor(conversation, { signal: controller.signal }))) {
      events.push(event);
      if (event.type === "reasoning-delta") controller.abort();
    }
    expect(last(events)).toEqual({ type: "finish", reason: "aborted" });
    expect(events.some((event) => event.type === "text-delta")).toBe(false);
  });

  it("validates its options", () => {
    expect(() => createRemoteBackend({ model: "" })).toThrow(/Invalid remote backend options/);
    expect(() => createRemoteBackend({ model: "qwen3-vl-plus", preset: "dashscope" })).toThrow(/needs an API key/);
    expect(() => createRemoteBackend({ model: "m", preset: "openai" })).toThrow(/no default address/);
  });
});

describe("toolMode: prompt", () => {
  it("writes the tool list into the system turn instead of sending `tools`", async () => {
    server.queue(sse("vllm-no-parsers-in-text.sse"));
    await collect(backend({ toolMode: "prompt" }).generate(requestFor(conversation, { tools: [zoomTool] })));
    const body = server.requests[0].body as { tools?: unknown; messages: { role: string; content: string }[] };
    expect(body.tools).toBeUndefined();
    expect(body.messages[0].role).toBe("system");
    expect(body.messages[0].content).toMatch(
      /^You are a helpful assistant\.\n\n# Tools\n\nYou may call one or more functions/,
    );
    expect(body.messages[0].content).toContain('{"type": "function", "function": {"name": "image_zoom_in_tool"');
  });
});
