import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServeHandle } from "../../src/http/server.js";
import type { Backend } from "../../src/runtime/backend.js";
import { createLocalBackend, type LocalEngine } from "../../src/runtime/local/index.js";
import { runSquint } from "../support/cli.js";
import { call, pngDataUrl, type SpawnedServe, spawnServe, startServer } from "./harness.js";
import { tinyServeModel } from "./tiny-model.js";

/**
 * The official `openai` client (a client no one here wrote) against `squint serve --model` running a tiny
 * random Qwen3-VL on the in-process engine: a streamed completion with an image, a request carrying tools and
 * a tool round, errors; and a client that disconnects mid-stream frees the engine within one decode step.
 * Random weights: what the model says is noise; the tests check the wire, the counts and the engine.
 */

let modelDir: string;
let spawned: SpawnedServe;
let client: OpenAI;
let image: string;

beforeAll(async () => {
  ({ modelDir } = await tinyServeModel());
  image = await pngDataUrl(64, 64, "#884422");
  spawned = await spawnServe(["--model", modelDir, "--model-name", "tiny-qwen3-vl", "--max-output-tokens", "64"]);
  for (let waited = 0; (await call(`${spawned.url}/ready`)).status !== 200; waited += 200) {
    if (waited > 60_000) throw new Error(`squint serve was not ready after 60 s:\n${spawned.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  client = new OpenAI({ baseURL: `${spawned.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 180_000);

afterAll(async () => {
  expect(await spawned?.stop()).toBe(0);
});

describe("openai client → squint serve --model (tiny random model)", () => {
  it("streams a completion about an image: role first, deltas, finish, usage last, [DONE]", async () => {
    const stream = await client.chat.completions.create({
      model: "tiny-qwen3-vl",
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: image } },
            { type: "text", text: "What colour is this?" },
          ],
        },
      ],
      max_tokens: 8,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const finish = chunks.find((chunk) => chunk.choices[0]?.finish_reason);
    expect(["stop", "length"]).toContain(finish!.choices[0]!.finish_reason);
    const usage = chunks.at(-1)!.usage!;
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(usage.completion_tokens).toBeLessThanOrEqual(8);
    // 64×64 is below min_pixels: upscaled to 256×256 = 64 visual tokens, plus the text.
    expect(usage.prompt_tokens).toBeGreaterThan(64);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    expect(text.length).toBeGreaterThan(0);
  });

  it("is deterministic under temperature 0 and under a seed", async () => {
    const ask = (extra: Record<string, unknown>) =>
      client.chat.completions.create({
        model: "tiny-qwen3-vl",
        messages: [{ role: "user", content: "Count" }],
        max_completion_tokens: 6,
        ...extra,
      } as never) as Promise<OpenAI.ChatCompletion>;
    const greedy = [await ask({ temperature: 0 }), await ask({ temperature: 0 })];
    expect(greedy[0]!.choices[0]!.message.content).toBe(greedy[1]!.choices[0]!.message.content);
    const seeded = [
      await ask({ temperature: 1, top_p: 0.9, seed: 5 }),
      await ask({ temperature: 1, top_p: 0.9, seed: 5 }),
    ];
    expect(seeded[0]!.choices[0]!.message.content).toBe(seeded[1]!.choices[0]!.message.content);
  });

  it("takes tools and a tool round (assistant tool_calls + tool result) into the prompt", async () => {
    const completion = await client.chat.completions.create({
      model: "tiny-qwen3-vl",
      messages: [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_7", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_7", content: "Sunny" },
      ],
      tools: [
        {
          type: "function",
          function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
        },
      ],
      max_tokens: 4,
      temperature: 0,
    });
    expect(["stop", "length", "tool_calls"]).toContain(completion.choices[0]!.finish_reason);
    // The tool definitions and the round are rendered: a longer prompt than the bare question.
    const bare = await client.chat.completions.create({
      model: "tiny-qwen3-vl",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      max_tokens: 1,
    });
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(bare.usage!.prompt_tokens + 40);
  });

  it("a named tool_choice makes the engine write the call's opening: random weights then fail it, with a coded error", async () => {
    const outcome = await client.chat.completions
      .create({
        model: "tiny-qwen3-vl",
        messages: [{ role: "user", content: "Weather in Paris?" }],
        tools: [
          {
            type: "function",
            function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
          },
        ],
        tool_choice: { type: "function", function: { name: "get_weather" } },
        max_tokens: 24,
        temperature: 0,
        // Without thinking the call opens the reply; with it, only after a </think> random weights never write.
        chat_template_kwargs: { enable_thinking: false },
      } as never)
      .then(
        (completion: OpenAI.Chat.Completions.ChatCompletion) => ({ completion }),
        (error: unknown) => ({ error }),
      );
    // Greedy decoding of these fixed random weights gives no parsable arguments: the error quotes the block, which
    // the engine opened with get_weather's name (the model's own tokens follow "arguments": ).
    expect("error" in outcome).toBe(true);
    const apiError = (outcome as { error: unknown }).error as InstanceType<typeof OpenAI.APIError>;
    expect({ status: apiError.status, code: apiError.code }).toEqual({ status: 502, code: "BACKEND_FAILED" });
    expect(apiError.message).toMatch(/It wrote <tool_call>\s*\{"name": "get_weather", "arguments": /);
  });

  it("reports errors as OpenAI APIErrors with Squint's code", async () => {
    const error = await client.chat.completions
      .create({ model: "tiny-qwen3-vl", messages: [{ role: "user", content: "x" }], max_tokens: 10_000 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("INVALID_ARGUMENT");
    const notImage = await client.chat.completions
      .create({
        model: "tiny-qwen3-vl",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] }],
      })
      .catch((caught: unknown) => caught);
    expect((notImage as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
  });

  it("lists the model; /metrics counts tokens under vLLM's names", async () => {
    expect((await client.models.list()).data[0]!.id).toBe("tiny-qwen3-vl");
    const metrics = (await call(`${spawned.url}/metrics`)).text;
    expect(metrics).toMatch(/vllm:generation_tokens_total \d+/);
    expect(metrics).toMatch(/vllm:time_to_first_token_seconds_count \d+/);
    expect(metrics).toMatch(/squint_request_visual_tokens_sum 64/);
  });
});

describe("Squint's own remote backend → squint serve (the whole ask loop over HTTP)", () => {
  it("squint ask --base-url runs every turn through /v1/chat/completions", async () => {
    const before = (await call(`${spawned.url}/metrics`)).text;
    const count = (text: string) =>
      Number(/squint_http_requests_total\{route="\/v1\/chat\/completions",status="200"\} (\d+)/.exec(text)?.[1] ?? 0);
    const imagePath = join(mkdtempSync(join(tmpdir(), "squint-serve-ask-")), "photo.png");
    writeFileSync(imagePath, Buffer.from(image.split(",")[1]!, "base64"));
    const run = await runSquint([
      "ask",
      imagePath,
      "What colour is this?",
      "--base-url",
      `${spawned.url}/v1`,
      "--model-name",
      "tiny-qwen3-vl",
      "--max-steps",
      "2",
      "--max-new-tokens",
      "8",
      // One tool keeps the system prompt short (all of them make ~2.7k tokens: a slow CPU prefill).
      "--tools",
      "image_zoom_in_tool",
      "--json",
    ]);
    const json = JSON.parse(run.stdout) as {
      status: string;
      steps: Array<{ outputTokens: number; inputTokens: number }>;
    };
    // Random weights: whatever the status, every turn went through the server and produced tokens.
    expect(["answered", "failed", "exhausted"]).toContain(json.status);
    expect(json.steps.length).toBeGreaterThan(0);
    expect(json.steps[0]!.outputTokens).toBeGreaterThan(0);
    expect(json.steps[0]!.inputTokens).toBeGreaterThan(64);
    const after = (await call(`${spawned.url}/metrics`)).text;
    expect(count(after) - count(before)).toBe(json.steps.length);
  });

  it("/v1/ask runs the agent on the server's model", async () => {
    const reply = await call(`${spawned.url}/v1/ask`, {
      body: {
        image,
        question: "What colour is this?",
        max_steps: 1,
        max_output_tokens: 8,
        tools: ["image_zoom_in_tool"],
      },
    });
    expect(reply.status).toBe(200);
    const body = reply.body as {
      status: string;
      usage: { turns: number; visual_tokens: number; output_tokens: number };
    };
    expect(["answered", "failed", "exhausted"]).toContain(body.status);
    expect(body.usage.turns).toBeGreaterThan(0);
    expect(body.usage.visual_tokens).toBe(64);
    expect(body.usage.output_tokens).toBeGreaterThan(0);
  });
});

describe("squint serve --base-url: a server in front of another (the remote backend)", () => {
  it("answers an OpenAI client with an image through the front server, the work done by the one behind it", async () => {
    const front = await spawnServe(["--base-url", `${spawned.url}/v1`, "--model-name", "tiny-qwen3-vl", "--no-warmup"]);
    try {
      for (let waited = 0; (await call(`${front.url}/ready`)).status !== 200; waited += 200) {
        if (waited > 30_000) throw new Error(`the front server was not ready after 30 s:\n${front.stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const generated = (text: string) => Number(/^vllm:generation_tokens_total (\d+)/m.exec(text)?.[1] ?? 0);
      const before = generated((await call(`${spawned.url}/metrics`)).text);
      const frontClient = new OpenAI({ baseURL: `${front.url}/v1`, apiKey: "unused", maxRetries: 0 });
      const completion = await frontClient.chat.completions.create({
        model: "tiny-qwen3-vl",
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: image } },
              { type: "text", text: "Describe it." },
            ],
          },
        ],
        max_tokens: 4,
        temperature: 0,
      });
      expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
      // The image reached the model behind: 64 visual tokens plus the text.
      expect(completion.usage!.prompt_tokens).toBeGreaterThan(64);
      const after = generated((await call(`${spawned.url}/metrics`)).text);
      expect(after - before).toBe(completion.usage!.completion_tokens);
    } finally {
      expect(await front.stop()).toBe(0);
    }
  });
});

describe("client disconnect (in-process server, same tiny model)", () => {
  let server: ServeHandle;
  let stepsAtAbort = -1;
  let stepsAtEnd = -1;

  beforeAll(async () => {
    const local = await createLocalBackend({ model: modelDir });
    const engine = local.engine as LocalEngine;
    // Records the engine's decode-step count when the server aborts the generation and when it returns.
    const watched: Backend = {
      info: local.info,
      close: () => local.close(),
      async *generate(request) {
        request.signal?.addEventListener("abort", () => {
          stepsAtAbort = engine.stats.decodeSteps;
        });
        try {
          yield* local.generate(request);
        } finally {
          stepsAtEnd = engine.stats.decodeSteps;
        }
      },
    };
    server = await startServer({ backend: async () => watched, limits: { maxOutputTokens: 4000 } });
    await server.context.model.loaded;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  it("frees the engine within one decode step of the client going away", async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "x",
        messages: [{ role: "user", content: "Write a long story." }],
        max_tokens: 4000,
        temperature: 0,
        stream: true,
      }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let seen = "";
    while ((seen.match(/"content"/g) ?? []).length < 6) {
      const { value } = await reader.read();
      seen += new TextDecoder().decode(value);
    }
    stepsAtEnd = -1;
    controller.abort();
    await expect.poll(() => stepsAtEnd, { timeout: 10_000 }).toBeGreaterThanOrEqual(0);
    expect(stepsAtAbort).toBeGreaterThan(0);
    expect(stepsAtEnd - stepsAtAbort).toBeLessThanOrEqual(1);
    expect(stepsAtEnd).toBeLessThan(4000);
    await expect.poll(() => server.context.lanes.model.running).toBe(0);
    // The engine takes the next request at once.
    const next = await call(`${server.url}/v1/chat/completions`, {
      body: { model: "x", messages: [{ role: "user", content: "Hi" }], max_tokens: 2 },
    });
    expect(next.status).toBe(200);
  });
});
