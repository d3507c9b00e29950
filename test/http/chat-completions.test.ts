import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServeHandle } from "../../src/http/server.js";
import { contentParts, type Message } from "../../src/model/messages.js";
import type { GenerateRequest } from "../../src/runtime/backend.js";
import { answerReply, ScriptedBackend, toolCallReply } from "../support/scripted-backend.js";
import { call, expectError, pngDataUrl, startServer } from "./harness.js";

/**
 * /v1/chat/completions over a scripted backend: the replies are fixed text, but they go through the real
 * reply parser, so reasoning, answers and tool calls come out as a Thinking model's would. The official
 * `openai` client reads them (test/http/openai-client.test.ts runs the same client on a real engine).
 */

function lastUserText(request: GenerateRequest): string {
  const user = [...request.messages].reverse().find((message: Message) => message.role === "user");
  return user
    ? contentParts(user.content)
        .map((part) => (part.type === "text" ? part.text : ""))
        .join("")
    : "";
}

const reply = (request: GenerateRequest) => {
  const text = lastUserText(request);
  if (text.includes("weather")) return toolCallReply("I should look it up.", "get_weather", { city: "Paris" });
  if (text.includes("stop")) return answerReply("Counting.", "one, two, STOP three, four");
  if (text.includes("image")) {
    const images = request.messages.flatMap((m) => contentParts(m.content)).filter((p) => p.type === "image");
    return answerReply("Looking at it.", `I see ${images.length} image(s).`);
  }
  return answerReply("Thinking about it.", "Hello there.");
};
// The script is indexed by the assistant turns a conversation already holds: the same reply for each.
const backend = new ScriptedBackend([reply, reply, reply], { thinking: true });

let server: ServeHandle;
let client: OpenAI;
let image: string;

beforeAll(async () => {
  image = await pngDataUrl(64, 48);
  server = await startServer({
    backend,
    modelName: "scripted-qwen",
    limits: { maxOutputTokens: 512, maxImagesPerRequest: 2 },
  });
  await server.context.model.loaded;
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
});

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "The weather in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

describe("/v1/chat/completions (scripted Thinking model)", () => {
  it("answers with content and the reasoning under both names, and usage", async () => {
    const completion = await client.chat.completions.create({
      model: "scripted-qwen",
      messages: [{ role: "user", content: "Say hello" }],
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("scripted-qwen");
    const message = completion.choices[0]!.message as (typeof completion.choices)[0]["message"] & {
      reasoning_content?: string;
      reasoning?: string;
    };
    expect(message.content).toBe("Hello there.");
    expect(message.reasoning_content).toBe("Thinking about it.");
    expect(message.reasoning).toBe("Thinking about it.");
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
  });

  it("streams a native tool call, finish_reason tool_calls, usage last, then [DONE]", async () => {
    const stream = await client.chat.completions.create({
      model: "scripted-qwen",
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      tools: [weatherTool],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ index: 0, type: "function", function: { name: "get_weather" } });
    expect(JSON.parse(calls[0]!.function!.arguments!)).toEqual({ city: "Paris" });
    expect(calls[0]!.id).toMatch(/^call_/);
    const finish = chunks.find((chunk) => chunk.choices[0]?.finish_reason);
    expect(finish!.choices[0]!.finish_reason).toBe("tool_calls");
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
    const reasoning = chunks
      .map((chunk) => (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? "")
      .join("");
    expect(reasoning).toBe("I should look it up.");
  });

  it("takes the tool result back (tool message with tool_call_id) and answers", async () => {
    const completion = await client.chat.completions.create({
      model: "scripted-qwen",
      messages: [
        { role: "user", content: "What is the weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "Sunny, 21 C" },
        { role: "user", content: "Say hello" },
      ],
      tools: [weatherTool],
    });
    expect(completion.choices[0]!.message.content).toBe("Hello there.");
    const prompt = backend.prompts.at(-1)!;
    expect(prompt).toContain("<tool_response>\nSunny, 21 C\n</tool_response>");
    expect(prompt).toContain('"name": "get_weather"');
  });

  it("tool_choice none hides the tools from the model", async () => {
    await client.chat.completions.create({
      model: "scripted-qwen",
      messages: [{ role: "user", content: "Say hello" }],
      tools: [weatherTool],
      tool_choice: "none",
    });
    expect(backend.requests.at(-1)!.tools).toBeUndefined();
  });

  it("tool_choice required / a named function reaches the backend, which must honour it", async () => {
    const named = await client.chat.completions.create({
      model: "scripted-qwen",
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      tools: [weatherTool],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    expect(backend.requests.at(-1)!.toolChoice).toEqual({ name: "get_weather" });
    expect(named.choices[0]!.message.tool_calls?.[0]).toMatchObject({ function: { name: "get_weather" } });
    expect(named.choices[0]!.finish_reason).toBe("tool_calls");
    await client.chat.completions.create({
      model: "scripted-qwen",
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      tools: [weatherTool],
      tool_choice: "required",
    });
    expect(backend.requests.at(-1)!.toolChoice).toBe("required");
    await client.chat.completions.create({
      model: "scripted-qwen",
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      tools: [weatherTool],
      tool_choice: "auto",
    });
    expect(backend.requests.at(-1)!.toolChoice).toBeUndefined();
  });

  it("a reply without the required call is a coded error, never an answer that ignores tool_choice", async () => {
    // The scripted model answers "Say hello" in words; a backend that does not force the call lets that through.
    const error = await client.chat.completions
      .create({
        model: "scripted-qwen",
        messages: [{ role: "user", content: "Say hello" }],
        tools: [weatherTool],
        tool_choice: "required",
      })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect({ status: apiError.status, code: apiError.code }).toEqual({ status: 502, code: "BACKEND_FAILED" });
    expect(apiError.message).toMatch(/tool_choice asked for a tool call/);

    // A call to a function that was not offered does not count either.
    const wrong = await call(`${server.url}/v1/chat/completions`, {
      body: {
        messages: [{ role: "user", content: "What is the weather in Paris?" }],
        tools: [{ ...weatherTool, function: { ...weatherTool.function, name: "get_forecast" } }],
        tool_choice: "required",
      },
    });
    expectError(wrong, 502, "BACKEND_FAILED");
    expect((wrong.body as { error: { message: string } }).error.message).toMatch(/get_weather, which is not offered/);

    // Streamed: the error is the last event before [DONE], and no content pretends to be the answer.
    const stream = await call(`${server.url}/v1/chat/completions`, {
      body: {
        messages: [{ role: "user", content: "Say hello" }],
        tools: [weatherTool],
        tool_choice: { type: "function", function: { name: "get_weather" } },
        stream: true,
      },
    });
    const events = stream.text
      .split("\n\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => line.slice(6));
    expect(events.at(-1)).toBe("[DONE]");
    const streamedError = JSON.parse(events.at(-2)!) as { error: { code: string; message: string } };
    expect(streamedError.error.code).toBe("BACKEND_FAILED");
    expect(streamedError.error.message).toMatch(/a call to get_weather.*It wrote the text "Hello there\."/);
    expect(stream.text).not.toMatch(/"content":"Hello/);
  });

  it("passes images (data URLs and upload ids) to the model as images", async () => {
    const { id } = (await call(`${server.url}/v1/images`, { body: { image } })).body as { id: string };
    const completion = await client.chat.completions.create({
      model: "scripted-qwen",
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: image } },
            { type: "image_url", image_url: { url: id } },
            { type: "text", text: "Describe the image" },
          ],
        },
      ],
    });
    expect(completion.choices[0]!.message.content).toBe("I see 2 image(s).");
  });

  it("cuts the answer before a stop string", async () => {
    const completion = await client.chat.completions.create({
      model: "scripted-qwen",
      messages: [{ role: "user", content: "Count until stop" }],
      stop: ["STOP"],
    });
    expect(completion.choices[0]!.message.content).toBe("one, two, ");
    expect(completion.choices[0]!.finish_reason).toBe("stop");
  });

  it("passes sampling: temperature 0 is greedy; top_p, seed and max_tokens go through", async () => {
    await client.chat.completions.create({
      model: "scripted-qwen",
      messages: [{ role: "user", content: "Say hello" }],
      temperature: 0,
      top_p: 0.5,
      seed: 7,
      max_completion_tokens: 99,
    });
    const request = backend.requests.at(-1)!;
    expect(request.sampling).toMatchObject({ doSample: false, topP: 0.5, seed: 7 });
    expect(request.maxOutputTokens).toBe(99);
  });

  it("errors come in OpenAI's shape with Squint's code and hint", async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ n: 2 }, 400, "INVALID_ARGUMENT"],
      [{ max_tokens: 100_000 }, 400, "INVALID_ARGUMENT"],
      [
        { tool_choice: { type: "function", function: { name: "nope" } }, tools: [weatherTool] },
        400,
        "INVALID_ARGUMENT",
      ],
      [
        {
          messages: [
            { role: "user", content: [{ type: "image_url", image_url: { url: "http://127.0.0.1:9/x.png" } }] },
          ],
        },
        403,
        "URL_NOT_ALLOWED",
      ],
      [
        {
          messages: [
            {
              role: "user",
              content: [image, image, image].map((url) => ({ type: "image_url", image_url: { url } })),
            },
          ],
        },
        413,
        "REQUEST_TOO_LARGE",
      ],
      [{ messages: [] }, 400, "INVALID_ARGUMENT"],
      [{ messages: [{ role: "wizard", content: "x" }] }, 400, "INVALID_ARGUMENT"],
    ];
    for (const [extra, status, code] of cases) {
      const error = await client.chat.completions
        .create({ model: "scripted-qwen", messages: [{ role: "user", content: "Say hello" }], ...extra } as never)
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(error, JSON.stringify(extra)).toBeInstanceOf(OpenAI.APIError);
      const apiError = error as InstanceType<typeof OpenAI.APIError>;
      expect({ status: apiError.status, code: apiError.code }).toEqual({ status, code });
      expect(apiError.type).toMatch(/_error$/);
      expect(apiError.message).not.toMatch(/\n\s+at /);
      const raw = await call(`${server.url}/v1/chat/completions`, {
        body: { model: "x", messages: [{ role: "user", content: "Say hello" }], ...extra },
      });
      expectError(raw, status, code);
      expect((raw.body as { error: { type: string; param: null } }).error).toHaveProperty("param", null);
    }
  });

  it("/v1/models lists the served model", async () => {
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(["scripted-qwen"]);
  });
});

describe("admission on the model", () => {
  it("one generation at a time; over the queue → 429 with Retry-After; the queue drains", async () => {
    const slow = new ScriptedBackend([answerReply("Hmm.", "A slow answer that takes a while.")], {
      thinking: true,
      chunkSize: 2,
      chunkDelayMs: 20,
    });
    const busy = await startServer({ backend: slow, warmup: false, limits: { maxQueuedModel: 1 } });
    await busy.context.model.loaded;
    try {
      const body = { model: "x", messages: [{ role: "user", content: "Hi" }] };
      const first = call(`${busy.url}/v1/chat/completions`, { body });
      const second = call(`${busy.url}/v1/chat/completions`, { body });
      await expect.poll(() => busy.context.lanes.model.waiting).toBe(1);
      expect(busy.context.lanes.model.running).toBe(1);
      const third = await call(`${busy.url}/v1/chat/completions`, { body });
      expectError(third, 429, "QUEUE_FULL");
      expect(Number(third.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect((third.body as { error: { type: string } }).error.type).toBe("rate_limit_error");
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
      expect(busy.context.lanes.model.running).toBe(0);
    } finally {
      await busy.close();
    }
  });

  it("a queued request whose client goes away leaves the queue", async () => {
    const slow = new ScriptedBackend([answerReply("Hmm.", "A slow answer that takes a while.")], {
      thinking: true,
      chunkSize: 2,
      chunkDelayMs: 20,
    });
    const busy = await startServer({ backend: slow, warmup: false });
    await busy.context.model.loaded;
    try {
      const body = JSON.stringify({ model: "x", messages: [{ role: "user", content: "Hi" }] });
      const init = { method: "POST", headers: { "content-type": "application/json" }, body };
      const first = fetch(`${busy.url}/v1/chat/completions`, init);
      await expect.poll(() => busy.context.lanes.model.running).toBe(1);
      const controller = new AbortController();
      const queued = fetch(`${busy.url}/v1/chat/completions`, { ...init, signal: controller.signal }).catch(
        (error: unknown) => error,
      );
      await expect.poll(() => busy.context.lanes.model.waiting).toBe(1);
      controller.abort();
      await queued;
      await expect.poll(() => busy.context.lanes.model.waiting).toBe(0);
      expect((await first).status).toBe(200);
      expect(slow.requests).toHaveLength(1);
    } finally {
      await busy.close();
    }
  });
});
