import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeServer, sse } from "../runtime/remote/fake-server.js";
import { repoRoot } from "../support/cli.js";

// The README's SDK example, run as a user would run it (it imports "squint", i.e. the built package), against a
// loopback server that streams as vLLM does: one zoom, then an answer.
describe("examples/ask-remote.ts", () => {
  let server: FakeServer;
  let image: string;

  beforeAll(async () => {
    server = await FakeServer.start();
    const dir = mkdtempSync(join(tmpdir(), "squint-example-"));
    image = join(dir, "photo.png");
    writeFileSync(
      image,
      await sharp({ create: { width: 640, height: 480, channels: 3, background: "#3a6" } })
        .png()
        .toBuffer(),
    );
  });
  afterAll(async () => {
    await server.close();
  });

  it("prints the model's tool call and its answer", async () => {
    server.queue(sse("vllm-reasoning-native-tool-call.sse"), sse("vllm-reasoning-content-grounding.sse"));
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "examples/ask-remote.ts", image, "What is on the sign?"],
      {
        cwd: repoRoot,
        env: { ...process.env, SQUINT_BASE_URL: server.baseUrl, SQUINT_MODEL_NAME: "Qwen/Qwen3-VL-2B-Thinking" },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).not.toMatch(/Error|at .*\.ts:/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^step 1: image_zoom_in_tool \{.*"bbox_2d"/m);
    const lines = stdout.trim().split("\n");
    expect(lines.at(-1)?.length ?? 0).toBeGreaterThan(0);
    expect(lines.at(-1)).not.toMatch(/^(failed|aborted|exhausted|stopped):/);
    expect(server.requests).toHaveLength(2);
  });
});
