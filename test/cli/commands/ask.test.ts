import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { askWithBackend, parseAskArgs } from "../../../src/cli/commands/ask.js";
import type { CliIO } from "../../../src/cli/command.js";
import { syntheticPhotoFile } from "../../agent/fixtures.js";
import { runSquint } from "../../support/cli.js";
import { answerReply, ScriptedBackend, toolCallReply } from "../../support/scripted-backend.js";

function captureIO(isTTY: boolean): { io: CliIO; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  return { io: { stdout, stderr, isTTY }, out: () => out, err: () => err };
}

const script = () =>
  new ScriptedBackend([
    toolCallReply("The block is small.", "image_zoom_in_tool", {
      bbox_2d: [500, 300, 600, 500],
      label: "block",
      img_idx: 0,
    }),
    answerReply("Red it is.", "The block is red."),
  ]);

describe("squint ask", () => {
  it("streams dimmed reasoning, one line per tool call, and the answer", async () => {
    const image = await syntheticPhotoFile();
    const { io, out } = captureIO(true);
    const { code } = await askWithBackend(
      script(),
      parseAskArgs([image, "What colour?", "--base-url", "http://x/v1"]),
      io,
    );
    expect(code).toBe(0);
    const text = out();
    // Reasoning arrives in dimmed pieces; the answer is not dimmed.
    expect(text.startsWith("\x1b[2mThe")).toBe(true);
    const plain = text.replaceAll("\x1b[2m", "").replaceAll("\x1b[22m", "");
    expect(plain).toContain("The block is small.\n→ image_zoom_in_tool");
    expect(text).toContain("\nThe block is red.");
    expect(text).toMatch(/→ image_zoom_in_tool \{"bbox_2d":\[500,300,600,500\],"label":"block","img_idx":0\}\n/);
    expect(text).toMatch(/✓ image_zoom_in_tool: .* \[image 1\]\n/);
    expect(text.trimEnd().endsWith("The block is red.")).toBe(true);
  });

  it("--json prints the result and the trace; --trace writes an HTML report", async () => {
    const image = await syntheticPhotoFile();
    const dir = mkdtempSync(path.join(tmpdir(), "squint-ask-"));
    const trace = path.join(dir, "run.html");
    const { io, out } = captureIO(false);
    const args = parseAskArgs([image, "What colour?", "--base-url", "http://x/v1", "--json", "--trace", trace]);
    const { code } = await askWithBackend(script(), args, io);
    expect(code).toBe(0);
    const json = JSON.parse(out()) as {
      status: string;
      answer: string;
      steps: unknown[];
      events: Array<{ type: string }>;
    };
    expect(json).toMatchObject({ status: "answered", answer: "The block is red." });
    expect(json.steps).toHaveLength(2);
    expect(json.events.map((event) => event.type)).toContain("tool-result");
    const html = readFileSync(trace, "utf8");
    expect(html).toContain("The block is red.");
    expect(html).toContain('class="crop"');
  });

  it("rejects bad arguments with a hint", () => {
    expect(() => parseAskArgs(["only-a-question"])).toThrow(/at least one image/);
    // Neither --model nor --base-url: the default local model is used (resolved when the backend loads).
    const defaults = parseAskArgs(["a.png", "q"]);
    expect(defaults.model).toBeUndefined();
    expect(defaults.baseUrl).toBeUndefined();
    expect(() => parseAskArgs(["a.png", "q", "--model", "m", "--base-url", "http://x"])).toThrow(/not both/);
    expect(() => parseAskArgs(["a.png", "q", "--model", "m", "--max-steps", "0"])).toThrow(/greater than zero/);
  });

  it("runs end to end against an OpenAI-compatible server (--base-url), streaming to stdout", async () => {
    const replies = [
      'The block is small.\n</think>\n\n<tool_call>\n{"name": "image_zoom_in_tool", "arguments": {"bbox_2d": [500, 300, 600, 500], "label": "block", "img_idx": 0}}\n</tool_call>',
      "It is red.\n</think>\n\nThe block is red.",
    ];
    const bodies: Array<{ model: string; messages: Array<{ role: string }> }> = [];
    const server = createServer(async (req: IncomingMessage, res) => {
      let raw = "";
      for await (const chunk of req) raw += chunk;
      const body = JSON.parse(raw) as { model: string; messages: Array<{ role: string }> };
      bodies.push(body);
      const text = replies[body.messages.filter((message) => message.role === "assistant").length] ?? "";
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (let at = 0; at < text.length; at += 9) {
        const delta = { choices: [{ index: 0, delta: { content: text.slice(at, at + 9) }, finish_reason: null }] };
        res.write(`data: ${JSON.stringify(delta)}\n\n`);
      }
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`);
      res.end("data: [DONE]\n\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const image = await syntheticPhotoFile();
      const run = await runSquint([
        "ask",
        image,
        "What colour is the block?",
        "--base-url",
        `http://127.0.0.1:${port}/v1`,
        "--model-name",
        "Qwen3-VL-2B-Thinking",
      ]);
      // The one progress line createBackend reports for a server (the same as squint mcp and serve print).
      expect(run.stderr).toBe(`model: remote:vllm http://127.0.0.1:${port}/v1 (Qwen3-VL-2B-Thinking)\n`);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("The block is small.\n→ image_zoom_in_tool");
      expect(run.stdout).toMatch(/✓ image_zoom_in_tool: .*\[image 1\]/);
      expect(run.stdout.trimEnd().endsWith("The block is red.")).toBe(true);
      expect(bodies).toHaveLength(2);
      expect(bodies[0].model).toBe("Qwen3-VL-2B-Thinking");
    } finally {
      server.close();
    }
  });

  it("runs as a subcommand: --help, and a clear error for a model that is not there", async () => {
    const help = await runSquint(["ask", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--base-url URL");
    const local = await runSquint(["ask", "a.png", "What?", "--model", "/nowhere"]);
    expect(local.code).toBe(1);
    expect(local.stderr).toMatch(/squint ask: .*"\/nowhere".*\(NOT_FOUND\) — /);
  });

  it("--model runs what `squint models build` wrote, as is, and reports tokens/s (a tiny random model: plumbing only)", async () => {
    const { tinyCheckpoint, tokenizerFixture } = await import("../../support/tiny-checkpoint.js");
    const checkpoint = await tinyCheckpoint({ seed: 1, tokenizer: tokenizerFixture });
    const model = path.join(mkdtempSync(path.join(tmpdir(), "squint-ask-model-")), "built");
    const build = await runSquint(["models", "build", checkpoint, model, "--dtype", "int4", "--attention", "append"]);
    expect(build.stderr).toBe("");
    expect(build.code).toBe(0);
    // The checkpoint's config and tokenizer went beside the graphs: the folder is a model on its own.
    expect(readdirSync(model)).toEqual(expect.arrayContaining(["config.json", "tokenizer.json", "manifest.json"]));
    // Small, so the tiny model's CPU prefill stays short (256×256 is 64 visual tokens).
    const image = await syntheticPhotoFile(256, 256);
    const run = await runSquint([
      "ask",
      image,
      "What?",
      "--model",
      model,
      "--max-new-tokens",
      "6",
      "--max-steps",
      "1",
      "--tools",
      "image_zoom_in_tool",
      "--json",
    ]);
    // Progress lines while the model loads, one per stage on a non-terminal.
    expect(run.stderr).toMatch(/loading vision \(cpu\)/);
    expect(run.stderr).toMatch(/ready: local:/);
    expect(run.stderr).toMatch(/turn 1: \d+ tokens in \d+\.\d s \(\d+\.\d tokens\/s\), prompt \d+ tokens/);
    const json = JSON.parse(run.stdout) as { status: string; steps: Array<{ outputTokens: number }> };
    // Random weights say nothing useful: whatever the status, the engine produced tokens for the first step.
    expect(["answered", "failed", "exhausted"]).toContain(json.status);
    expect(json.steps[0].outputTokens).toBeGreaterThan(0);
    expect(json.steps[0].outputTokens).toBeLessThanOrEqual(6);
  }, 240_000);
});

describe("generationProgress", () => {
  it("writes a line every 5 s while a turn streams, and the exact tokens/s when it ends", async () => {
    const { generationProgress } = await import("../../../src/cli/commands/ask.js");
    const { io, err } = captureIO(false);
    let clock = 0;
    const progress = generationProgress(io, () => clock);
    progress({ type: "start-step", step: 1, finalTurn: false });
    for (let i = 0; i < 30; i++) {
      clock += 250; // 4 pieces a second
      progress({ type: "reasoning-delta", step: 1, text: "x" });
    }
    progress({
      type: "finish-step",
      step: 1,
      finishReason: "length",
      inputTokens: 70,
      outputTokens: 30,
      durationMs: 7600,
      modelMs: 7500,
    });
    const lines = err().trimEnd().split("\n");
    expect(lines).toEqual([
      "… turn 1: ~20 tokens, 4.0 tokens/s",
      "turn 1: 30 tokens in 7.5 s (4.0 tokens/s), prompt 70 tokens",
    ]);
  });

  it("ends the model's open line before each progress line", async () => {
    const { generationProgress } = await import("../../../src/cli/commands/ask.js");
    const order: string[] = [];
    // A Writable's first write reaches _write synchronously, so the order below is the order of the calls.
    const stderr = new Writable({
      write(_chunk, _encoding, done) {
        order.push("progress");
        done();
      },
    });
    const io: CliIO = { stdout: new PassThrough(), stderr, isTTY: true };
    let clock = 0;
    const progress = generationProgress(
      io,
      () => clock,
      () => order.push("break"),
    );
    progress({ type: "start-step", step: 1, finalTurn: false });
    clock = 6000;
    progress({ type: "reasoning-delta", step: 1, text: "x" });
    progress({
      type: "finish-step",
      step: 1,
      finishReason: "stop",
      inputTokens: 5,
      outputTokens: 1,
      durationMs: 1,
      modelMs: 1,
    });
    expect(order).toEqual(["break", "progress", "break", "progress"]);
  });
});
