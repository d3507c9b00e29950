import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAskArgs } from "../../src/cli/commands/ask.js";
import { parseEvalArgs } from "../../src/cli/commands/eval.js";
import { parseMcpArgs } from "../../src/cli/commands/mcp.js";
import { parseServeArgs } from "../../src/cli/commands/serve.js";
import { backendOptions } from "../../src/cli/model-flags.js";
import { SquintError } from "../../src/errors.js";
import { type BackendProgress, createBackend } from "../../src/runtime/create-backend.js";
import { FakeServer } from "./remote/fake-server.js";

/**
 * createBackend is the one way from "which model" to a Backend; every command parses the same model flags
 * (src/cli/model-flags.ts) into its options. The server here is a loopback fake of an OpenAI-compatible API.
 */

const modelList = (...ids: string[]) => ({ body: JSON.stringify({ object: "list", data: ids.map((id) => ({ id })) }) });

let fake: FakeServer;

beforeAll(async () => {
  fake = await FakeServer.start();
});

afterAll(async () => {
  await fake?.close();
});

/** The model flags of each command, parsed from one command line (plus what the command needs besides). */
function parsedByEachCommand(modelArgs: string[], env: NodeJS.ProcessEnv = {}) {
  return {
    ask: parseAskArgs(["photo.jpg", "what?", ...modelArgs], env),
    mcp: parseMcpArgs(modelArgs, env),
    serve: parseServeArgs(modelArgs, env),
    eval: parseEvalArgs(["suite.jsonl", ...modelArgs], env),
  };
}

describe("createBackend", () => {
  it("asks GET /models for the served model when no model name is given", async () => {
    const before = fake.requests.length;
    fake.queue(modelList("Qwen/Qwen3-VL-8B-Instruct"));
    const progress: BackendProgress[] = [];
    const backend = await createBackend({ baseUrl: fake.baseUrl, onProgress: (line) => progress.push(line) });
    try {
      expect(fake.requests[before]?.url).toBe("/v1/models");
      expect(backend.info.name).toBe(`remote:vllm ${fake.baseUrl} (Qwen/Qwen3-VL-8B-Instruct)`);
      expect(progress).toEqual([{ stage: "ready", message: `model: ${backend.info.name}` }]);
    } finally {
      await backend.close();
    }
  });

  it("sends the API key to GET /models and takes a preset's dialect", async () => {
    const before = fake.requests.length;
    fake.queue(modelList("qwen3-vl"));
    const backend = await createBackend({ baseUrl: fake.baseUrl, preset: "ollama", apiKey: "secret" });
    try {
      expect(fake.requests[before]?.headers.authorization).toBe("Bearer secret");
      expect(backend.info.name).toBe(`remote:ollama ${fake.baseUrl} (qwen3-vl)`);
    } finally {
      await backend.close();
    }
  });

  it("does not ask the server when the model name is given", async () => {
    const before = fake.requests.length;
    const backend = await createBackend({ baseUrl: fake.baseUrl, modelName: "named" });
    try {
      expect(fake.requests.length).toBe(before);
      expect(backend.info.name).toContain("(named)");
    } finally {
      await backend.close();
    }
  });

  it.each([
    ["serves two models", modelList("a", "b"), /serves 2 models \(a, b\)/],
    ["serves none", modelList(), /lists no models/],
  ])("refuses a server that %s", async (_what, answer, message) => {
    fake.queue(answer);
    const error = await createBackend({ baseUrl: fake.baseUrl }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SquintError);
    expect((error as SquintError).code).toBe("INVALID_ARGUMENT");
    expect((error as SquintError).message).toMatch(message);
    expect((error as SquintError).hint).toContain("--model-name");
  });

  it("refuses a local model and a server at once, and a preset with no address", async () => {
    await expect(createBackend({ model: "some/dir", baseUrl: fake.baseUrl })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(createBackend({ preset: "openai" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining('"openai" preset has no default address'),
    });
  });

  it("reports an unreachable server as BACKEND_FAILED with what to check", async () => {
    // A port nothing listens on: the fake's own port after it is closed.
    const closed = await FakeServer.start();
    const url = closed.baseUrl;
    await closed.close();
    await expect(createBackend({ baseUrl: url })).rejects.toMatchObject({ code: "BACKEND_FAILED" });
  });
});

describe("the model flags, the same in ask, mcp, serve and eval", () => {
  it("parse to the same createBackend options in every command", () => {
    const lines = [
      ["--base-url", "http://127.0.0.1:8000/v1", "--model-name", "m", "--preset", "sglang"],
      ["--preset", "ollama"],
      ["--base-url", "http://127.0.0.1:8000/v1", "--api-key", "k"],
      ["--model", "some/dir"],
    ];
    for (const line of lines) {
      const options = Object.values(parsedByEachCommand(line, { SQUINT_API_KEY: "env-key" })).map(backendOptions);
      expect(new Set(options.map((option) => JSON.stringify(option))).size, line.join(" ")).toBe(1);
    }
    expect(backendOptions(parsedByEachCommand(["--preset", "ollama"], { SQUINT_API_KEY: "env-key" }).ask)).toEqual({
      preset: "ollama",
      apiKey: "env-key",
    });
    // The key from the environment goes only to a server.
    expect(backendOptions(parsedByEachCommand(["--model", "d"], { SQUINT_API_KEY: "env-key" }).eval)).toEqual({
      model: "d",
    });
  });

  it.each([
    [["--model", "dir", "--base-url", "http://h/v1"]],
    [["--model", "dir", "--preset", "ollama"]],
    [["--api-key", "k"]],
    [["--model-name", "m"]],
    [["--base-url", "ftp://h/v1"]],
    [["--preset", "tgi"]],
  ])("every command refuses %j with the same coded error", (line) => {
    const messages = (["ask", "mcp", "serve", "eval"] as const).map((command) => {
      try {
        parsedByEachCommand(line)[command];
        return "no error";
      } catch (error) {
        return error instanceof SquintError ? `${error.code}: ${error.message}` : `raw ${String(error)}`;
      }
    });
    expect(messages[0]).toMatch(/^INVALID_ARGUMENT: /);
    expect(new Set(messages).size).toBe(1);
  });

  it("makes the same backend from the same flags in every command (GET /models, --preset)", async () => {
    const names: string[] = [];
    for (const args of Object.values(parsedByEachCommand(["--base-url", fake.baseUrl, "--preset", "sglang"]))) {
      fake.queue(modelList("Qwen/Qwen3-VL-4B-Thinking"));
      const backend = await createBackend(backendOptions(args));
      names.push(backend.info.name);
      await backend.close();
    }
    expect(names).toEqual(Array(4).fill(`remote:sglang ${fake.baseUrl} (Qwen/Qwen3-VL-4B-Thinking)`));
  });

  it("read tokens per turn as --max-output-tokens (or its old name --max-new-tokens) in ask, mcp and eval", () => {
    for (const flag of ["--max-output-tokens", "--max-new-tokens"]) {
      const line = ["--model", "d", flag, "48"];
      const parsed = [
        parseAskArgs(["photo.jpg", "what?", ...line], {}),
        parseMcpArgs(line, {}),
        parseEvalArgs(["suite.jsonl", ...line], {}),
      ];
      expect(
        parsed.map((args) => args.maxOutputTokens),
        flag,
      ).toEqual([48, 48, 48]);
    }
    expect(() => parseAskArgs(["p.jpg", "q", "--max-output-tokens", "0"], {})).toThrow(/greater than zero/);
  });

  it("serve alone lets --model-name name a local model (the id it serves)", () => {
    expect(parseServeArgs(["--model", "dir", "--model-name", "tiny"], {})).toMatchObject({ modelName: "tiny" });
    expect(() => parseMcpArgs(["--model", "dir", "--model-name", "tiny"], {})).toThrow(SquintError);
    expect(backendOptions(parseServeArgs(["--model", "dir", "--model-name", "tiny"], {}))).toEqual({ model: "dir" });
  });
});
