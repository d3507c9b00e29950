import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMcpArgs } from "../../src/cli/commands/mcp.js";
import { SquintError } from "../../src/errors.js";
import type { AskImageOutput } from "../../src/agent/ask-image-tool.js";
import { FakeServer, type ScriptedAnswer } from "../runtime/remote/fake-server.js";
import { runSquint } from "../support/cli.js";
import { callTool, connectStdio, textOf } from "./harness.js";
import { toolExamples } from "./tool-examples.js";

/**
 * `squint mcp --base-url` as a host runs it: a spawned server over stdio, its model a loopback fake of an
 * OpenAI-compatible server that answers from a script (no model anywhere; this checks plumbing, not answers).
 */

const MODEL = "Qwen/Qwen3-VL-8B-Instruct";

/** A streamed chat completion whose content is `text`, in a few chunks (as vLLM sends them). */
function streamedAnswer(text: string): ScriptedAnswer {
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      created: 1764300000,
      model: MODEL,
      choices: [{ index: 0, delta, finish_reason: finish }],
    })}\n\n`;
  const pieces = text.match(/[\s\S]{1,9}/g) ?? [];
  const usage = `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", model: MODEL, choices: [], usage: { prompt_tokens: 321, completion_tokens: pieces.length, total_tokens: 321 + pieces.length } })}\n\n`;
  return {
    headers: { "content-type": "text/event-stream; charset=utf-8" },
    body: `${chunk({ role: "assistant", content: "" }, null)}${pieces.map((piece) => chunk({ content: piece }, null)).join("")}${chunk({}, "stop")}${usage}data: [DONE]\n\n`,
    chunkSize: 64,
  };
}

let dir: string;
let image: string;
let fake: FakeServer;
let client: Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "squint-ask-image-cli-"));
  image = join(dir, "shapes.png");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><rect width="400" height="300" fill="#fff"/><rect x="100" y="75" width="200" height="150" fill="#c00"/></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(image);
  fake = await FakeServer.start();
  fake.queue(
    // No --model-name: the server asks GET /models which model is served.
    { body: JSON.stringify({ object: "list", data: [{ id: MODEL, object: "model" }] }) },
    streamedAnswer(
      'The rectangle is red.\n```json\n[{"bbox_2d": [250, 250, 750, 750], "label": "red rectangle"}]\n```',
    ),
    streamedAnswer('```json\n[{"bbox_2d": [250, 250, 750, 750], "label": "red rectangle"}]\n```'),
  );
  ({ client } = await connectStdio(["--base-url", fake.baseUrl, "--allow", dir, "--no-roots"]));
}, 90_000);

afterAll(async () => {
  await client?.close();
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("squint mcp --base-url (spawned, fake OpenAI-compatible server)", () => {
  it("lists ask_image beside the image tools and answers a call through the server", async () => {
    const { tools } = await client.listTools();
    const examples = toolExamples(image, image, { model: true });
    expect(tools.map((tool) => tool.name).sort()).toEqual(Object.keys(examples).sort());
    expect(fake.requests[0]?.url).toBe("/v1/models");

    const result = await callTool(client, "ask_image", examples.ask_image as Record<string, unknown>);
    expect(result.isError, textOf(result)).toBeFalsy();
    const output = result.structuredContent as AskImageOutput;
    expect(output).toMatchObject({ status: "answered", steps: [] });
    expect(output.answer).toContain("The rectangle is red.");
    expect(output.boxes).toEqual([
      { label: "red rectangle", box: [100, 75, 300, 225], image: output.images[0], from: "answer", step: 1 },
    ]);
    expect(textOf(result)).toContain("The rectangle is red.");

    // What reached the model server: the served model's name, the image, and the tools.
    const chat = fake.requests[1]?.body as {
      model: string;
      messages: Array<{ content: unknown }>;
      tools?: Array<{ function: { name: string } }>;
    };
    expect(fake.requests[1]?.url).toBe("/v1/chat/completions");
    expect(chat.model).toBe(MODEL);
    expect(JSON.stringify(chat.messages)).toContain("data:image/");
    expect(chat.tools?.map((tool) => tool.function.name)).toContain("image_zoom_in_tool");
  }, 60_000);

  it("gives locate the same model", async () => {
    const result = await callTool(client, "locate", { image, query: "the red rectangle", mode: "model" });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      found: true,
      method: "model",
      modelCalls: 1,
      matches: [{ label: "red rectangle", box: { originalPixels: [100, 75, 300, 225] } }],
    });
    const prompt = JSON.stringify((fake.requests.at(-1)?.body as { messages?: unknown } | undefined)?.messages);
    expect(prompt).toContain("Detect all the red rectangle in the image");
  }, 60_000);
});

describe("squint mcp model flags", () => {
  const codeOf = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    try {
      parseMcpArgs(argv, env);
      return "no error";
    } catch (error) {
      return error instanceof SquintError && error.hint ? error.code : `raw ${String(error)}`;
    }
  };

  it("reads the server flags, the API key from SQUINT_API_KEY only for a server", () => {
    const args = parseMcpArgs(["--base-url", "http://127.0.0.1:8000/v1", "--model-name", "m", "--preset", "sglang"], {
      SQUINT_API_KEY: "from-env",
    });
    expect(args).toMatchObject({
      baseUrl: "http://127.0.0.1:8000/v1",
      modelName: "m",
      preset: "sglang",
      apiKey: "from-env",
    });
    expect(parseMcpArgs(["--base-url", "http://h/v1", "--api-key", "flag"], { SQUINT_API_KEY: "env" }).apiKey).toBe(
      "flag",
    );
    expect(parseMcpArgs(["--model", "some/dir"], { SQUINT_API_KEY: "env" }).apiKey).toBeUndefined();
    expect(parseMcpArgs(["--model", "some/dir", "--max-new-tokens", "64"], {}).maxOutputTokens).toBe(64);
    expect(parseMcpArgs(["--model", "some/dir", "--max-output-tokens", "32"], {}).maxOutputTokens).toBe(32);
    expect(parseMcpArgs([], {})).toMatchObject({ model: undefined, baseUrl: undefined });
  });

  it.each([
    [["--model", "dir", "--base-url", "http://h/v1"]],
    [["--model", "dir", "--preset", "ollama"]],
    [["--model-name", "m"]],
    [["--api-key", "k"]],
    [["--base-url", "ftp://h/v1"]],
    [["--base-url", "not a url"]],
    [["--preset", "tgi"]],
    [["--max-new-tokens", "4"]], // only with a model
    [["--max-output-tokens", "4"]],
    [["--model", "d", "--max-output-tokens", "4", "--max-new-tokens", "4"]],
    [["--base-url", "http://h/v1", "--max-new-tokens", "0"]],
  ])("refuses %j with a coded error", (argv) => {
    expect(codeOf(argv)).toBe("INVALID_ARGUMENT");
  });
});

describe("squint mcp --model (spawned, in-process engine)", () => {
  it("fails with a coded error and a hint when the model is not there", async () => {
    const run = await runSquint(["mcp", "--model", "/nowhere"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/"\/nowhere".*\(NOT_FOUND\) — /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("serves ask_image on a tiny random model (plumbing only: random weights answer nothing useful)", async () => {
    const { tinyBuilt } = await import("../runtime/local/engine-fixture.js");
    const { checkpoint, built } = await tinyBuilt("fp32");
    // A built directory that also carries the checkpoint's config and tokenizer, as `squint models build` leaves it.
    const model = mkdtempSync(join(tmpdir(), "squint-mcp-model-"));
    const taken = new Set(readdirSync(built));
    for (const name of taken) symlinkSync(join(built, name), join(model, name));
    for (const name of readdirSync(checkpoint).filter((name) => !name.endsWith(".safetensors") && !taken.has(name))) {
      symlinkSync(join(checkpoint, name), join(model, name));
    }
    // 256×256 is 64 visual tokens: the tiny model's CPU prefill stays short.
    const small = join(dir, "small.png");
    await sharp({ create: { width: 256, height: 256, channels: 3, background: "#2a6" } })
      .png()
      .toFile(small);
    const { client: local } = await connectStdio([
      "--model",
      model,
      "--max-new-tokens",
      "4",
      "--allow",
      dir,
      "--no-roots",
    ]);
    try {
      const { tools } = await local.listTools();
      expect(tools.map((tool) => tool.name)).toContain("ask_image");
      const result = await callTool(local, "ask_image", { images: [small], question: "What?", max_steps: 1 });
      expect(result.isError, textOf(result)).toBeFalsy();
      const output = result.structuredContent as AskImageOutput;
      expect(output.images).toHaveLength(1);
      // Whatever the random weights say, the engine ran: at most two turns (one step + the final turn) of 4 tokens.
      expect(["answered", "exhausted"]).toContain(output.status);
      expect(output.usage.outputTokens).toBeGreaterThan(0);
      expect(output.usage.outputTokens).toBeLessThanOrEqual(8);
      expect(output.usage.inputTokens).toBeGreaterThan(64); // the 64 visual tokens and the tools' system turn
    } finally {
      await local.close();
      rmSync(model, { recursive: true, force: true });
    }
  }, 240_000);
});
