import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createAgent } from "../../src/agent/agent.js";
import { zoomTool } from "../../src/tools/zoom.js";
import { repoRoot } from "../support/cli.js";
import { answerReply, ScriptedBackend, toolCallReply } from "../support/scripted-backend.js";
import { syntheticPhoto } from "./fixtures.js";

describe("agent with a server from mcp.json", () => {
  it("the external tool's image becomes an image the model sees and can zoom into", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "squint-agent-mcp-"));
    const file = path.join(dir, "mcp.json");
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: {
          pictures: {
            command: process.execPath,
            args: [path.join(repoRoot, "test/mcp/client/fixtures/image-server.mjs")],
            tools: ["make_image", "fail", "hang", "barrier"],
          },
        },
      }),
    );
    const backend = new ScriptedBackend([
      toolCallReply("Get the square.", "make_image", { size: "64" }),
      (request, prompt) => {
        // Two images now: the user's and the square (a tool response, as vision tokens).
        expect(prompt.match(/<\|image_pad\|>/g)).toHaveLength(2);
        expect(JSON.stringify(request.tools?.map((tool) => tool.function.name))).toBe(
          JSON.stringify(["image_zoom_in_tool", "make_image", "fail", "hang", "barrier"]),
        );
        return toolCallReply("Zoom into it.", "image_zoom_in_tool", {
          bbox_2d: [0, 0, 500, 500],
          label: "corner",
          img_idx: 1,
        });
      },
      toolCallReply("And this?", "fail", {}),
      toolCallReply("And that?", "hang", {}),
      // Two calls in one turn: the barrier answers only if both are in flight at once.
      'Both.\n</think>\n\n<tool_call>\n{"name": "barrier", "arguments": {}}\n</tool_call>\n<tool_call>\n{"name": "barrier", "arguments": {}}\n</tool_call>',
      answerReply("", "A green square."),
    ]);
    const agent = await createAgent({
      model: backend,
      tools: [zoomTool],
      mcp: file,
      // Long enough for a zoom on a loaded machine (its first call starts the resize thread), short for "hang".
      budget: { toolTimeoutMs: 1500, maxConsecutiveToolFailures: 5 },
    });
    try {
      const result = await agent.run({ images: [await syntheticPhoto()], prompt: "What does the server draw?" }).result;
      expect(result.status).toBe("answered");
      expect(
        result.images.map((image) => [image.index, image.origin, image.tool ?? null, image.parentIndex ?? null]),
      ).toEqual([
        [0, "user", null, null],
        [1, "tool", "make_image", null],
        [2, "tool", "image_zoom_in_tool", 1],
      ]);
      expect([result.images[1].width, result.images[1].height]).toEqual([64, 64]);
      const green = agent.store.pixels(result.images[2].storeId).data;
      expect([green[0], green[1], green[2]]).toEqual([0, 200, 0]);
      // A tool error is reported to the model as such, and the run goes on.
      expect(result.steps[2].calls[0]).toMatchObject({ ok: false, failure: "tool-error" });
      expect(result.steps[2].calls[0].summary).toContain("the fixture failed on purpose");
      // A call that never answers times out on its own clock; the model hears about it.
      expect(result.steps[3].calls[0]).toMatchObject({ ok: false, failure: "timeout" });
      expect(result.steps[3].calls[0].summary).toMatch(/did not answer within 1500 ms/);
      expect(result.steps[4].calls.map((call) => [call.toolName, call.ok, call.summary])).toEqual([
        ["barrier", true, "met"],
        ["barrier", true, "met"],
      ]);
    } finally {
      await agent.close();
    }
  });
});
