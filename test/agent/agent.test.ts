import { describe, expect, it } from "vitest";
import { createAgent } from "../../src/agent/agent.js";
import type { BudgetOptions } from "../../src/agent/options.js";
import type { AgentEvent } from "../../src/agent/events.js";
import { FINAL_TURN_INSTRUCTION } from "../../src/agent/machine.js";
import { hasToolCall, stepCountIs } from "../../src/agent/stop-conditions.js";
import { SquintError } from "../../src/errors.js";
import { contentParts, type Message } from "../../src/model/messages.js";
import type { Backend } from "../../src/runtime/backend.js";
import { applyToBox } from "../../src/tools/geometry.js";
import { answerReply, ScriptedBackend, type ScriptEntry, toolCallReply } from "../support/scripted-backend.js";
import { hasSharedData, hopInnPath, syntheticPhoto } from "./fixtures.js";

const zoom = (bbox: number[], img_idx: number, label: string, reasoning = "I should look closer.") =>
  toolCallReply(reasoning, "image_zoom_in_tool", { bbox_2d: bbox, label, img_idx });

async function collect(events: AsyncIterable<AgentEvent>): Promise<AgentEvent[]> {
  const out: AgentEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

function lastToolText(messages: Message[]): string {
  const tool = messages.filter((message) => message.role === "tool").at(-1);
  return tool
    ? contentParts(tool.content)
        .map((part) => (part.type === "text" ? part.text : ""))
        .join("")
    : "";
}

describe("agent loop over the real MCP server and tools", () => {
  it("zooms twice, into a crop of a crop, then answers; boxes map back to the original", async () => {
    const backend = new ScriptedBackend([
      zoom([500, 300, 600, 500], 0, "red block"),
      zoom([250, 250, 750, 750], 1, "middle of the block"),
      answerReply("The crop shows the red block.", "A red block."),
    ]);
    const agent = await createAgent({ model: backend });
    try {
      const run = agent.run({ images: [await syntheticPhoto()], prompt: "What is in the middle?" });
      const [events, result] = await Promise.all([collect(run.events), run.result]);
      expect(result.status).toBe("answered");
      expect(result.answer).toBe("A red block.");
      expect(result.images.map((image) => [image.index, image.origin, image.parentIndex])).toEqual([
        [0, "user", undefined],
        [1, "tool", 0],
        [2, "tool", 1],
      ]);
      // Crop 1: [500,300,600,500] of 1200×800 → x 600–720, y 240–400 in the original.
      const first = agent.store.get(result.images[1].storeId);
      const firstBox = applyToBox(first.toOriginal, { x1: 0, y1: 0, x2: first.width, y2: first.height });
      expect(firstBox.x1).toBeCloseTo(600, 0);
      expect(firstBox.x2).toBeCloseTo(720, 0);
      expect(firstBox.y1).toBeCloseTo(240, 0);
      expect(firstBox.y2).toBeCloseTo(400, 0);
      // Crop 2: the middle half of crop 1 → x 630–690, y 280–360 in the original.
      const second = agent.store.get(result.images[2].storeId);
      const secondBox = applyToBox(second.toOriginal, { x1: 0, y1: 0, x2: second.width, y2: second.height });
      expect(secondBox.x1).toBeCloseTo(630, 0);
      expect(secondBox.x2).toBeCloseTo(690, 0);
      expect(secondBox.y1).toBeCloseTo(280, 0);
      expect(secondBox.y2).toBeCloseTo(360, 0);
      // The model saw the crops as vision tokens inside tool responses.
      expect(backend.prompts[2].match(/<\|image_pad\|>/g)?.length).toBe(3);
      expect(backend.prompts[1]).toContain("<tool_response>\n<|vision_start|><|image_pad|><|vision_end|>");
      expect(backend.prompts[0]).toContain('"name": "image_zoom_in_tool"');
      const kinds = events.map((event) => event.type).filter((type) => !type.endsWith("-delta"));
      expect(kinds).toEqual([
        "start-step",
        "budget",
        "tool-call",
        "finish-step",
        "tool-result",
        "start-step",
        "budget",
        "tool-call",
        "finish-step",
        "tool-result",
        "start-step",
        "budget",
        "finish-step",
        "answer",
      ]);
      expect(events.some((event) => event.type === "reasoning-delta")).toBe(true);
      expect(result.steps).toHaveLength(3);
      expect(result.steps[0].calls[0]).toMatchObject({ toolName: "image_zoom_in_tool", ok: true });
    } finally {
      await agent.close();
    }
  });

  it.runIf(hasSharedData)(
    "zooms into the cookbook's Hop Inn sign box and maps it to the manifest's pixels",
    async () => {
      const backend = new ScriptedBackend([zoom([574, 301, 660, 468], 0, "sign"), answerReply("", "Hop Inn")]);
      const agent = await createAgent({ model: backend });
      try {
        const result = await agent.run({ images: [hopInnPath], prompt: "Where was the picture taken?" }).result;
        expect(result.status).toBe("answered");
        const crop = agent.store.get(result.images[1].storeId);
        const box = applyToBox(crop.toOriginal, { x1: 0, y1: 0, x2: crop.width, y2: crop.height });
        // MANIFEST.json: x1 1412.04, y1 485.21, x2 1623.6, y2 754.42 (crops are whole pixels).
        expect(Math.abs(box.x1 - 1412.04)).toBeLessThanOrEqual(1);
        expect(Math.abs(box.y1 - 485.21)).toBeLessThanOrEqual(1);
        expect(Math.abs(box.x2 - 1623.6)).toBeLessThanOrEqual(1);
        expect(Math.abs(box.y2 - 754.42)).toBeLessThanOrEqual(1);
      } finally {
        await agent.close();
      }
    },
  );
  if (!hasSharedData) console.warn("skipped the Hop Inn zoom test: ../shared/data is absent");

  it("runs two calls of one turn and gives their images the indices the events announced", async () => {
    const two =
      "Both corners.\n</think>\n\n" +
      '<tool_call>\n{"name": "image_zoom_in_tool", "arguments": {"bbox_2d": [0, 0, 500, 500], "label": "left", "img_idx": 0}}\n</tool_call>\n' +
      '<tool_call>\n{"name": "image_zoom_in_tool", "arguments": {"bbox_2d": [500, 0, 1000, 500], "label": "right", "img_idx": 0}}\n</tool_call>';
    const backend = new ScriptedBackend([two, answerReply("", "Two corners.")]);
    const agent = await createAgent({ model: backend });
    try {
      const run = agent.run({ images: [await syntheticPhoto()], prompt: "?" });
      const [events, result] = await Promise.all([collect(run.events), run.result]);
      const announced = events.flatMap((event) => (event.type === "tool-result" ? event.images : []));
      expect(announced.map((image) => image.index)).toEqual([1, 2]);
      expect(result.images.slice(1).map((image) => [image.index, image.label, image.storeId])).toEqual(
        announced.map((image, i) => [image.index, ["left", "right"][i], image.storeId]),
      );
      // One user turn carries both tool responses, in call order.
      expect(backend.prompts[1].match(/<tool_response>/g)).toHaveLength(2);
    } finally {
      await agent.close();
    }
  });

  it("repairs a malformed call (single quotes, trailing comma, numbers as strings)", async () => {
    const backend = new ScriptedBackend([
      "Zoom.\n</think>\n\n<tool_call>\n{'name': 'image_zoom_in_tool', 'arguments': {'bbox_2d': '[500, 300, 600, 500]', 'img_idx': '0', 'label': 'block',}}\n</tool_call>",
      answerReply("", "Red."),
    ]);
    const agent = await createAgent({ model: backend });
    try {
      const result = await agent.run({ images: [await syntheticPhoto()], prompt: "Colour?" }).result;
      expect(result.status).toBe("answered");
      expect(result.steps[0].calls[0]).toMatchObject({ ok: true, toolName: "image_zoom_in_tool" });
      expect(result.steps[0].calls[0].summary).toContain("(arguments repaired)");
      expect(result.images).toHaveLength(2);
    } finally {
      await agent.close();
    }
  });

  it("reports an unrepairable call back to the model, which then fixes it", async () => {
    const script: ScriptEntry[] = [
      zoom([500, 300], 0, "block"),
      (request) => {
        // The model reads the error and corrects its box.
        expect(lastToolText(request.messages)).toMatch(/invalid arguments for image_zoom_in_tool: bbox_2d/);
        return zoom([500, 300, 600, 500], 0, "block", "My box had two numbers; it needs four.");
      },
      'Broken JSON now.\n</think>\n\n<tool_call>\n{"name": "image_zoom_in_tool", "arguments": {"bbox_2d": [1, 2\n</tool_call>',
      (request) => {
        expect(lastToolText(request.messages)).toMatch(/could not be read/);
        return answerReply("", "Red.");
      },
    ];
    const backend = new ScriptedBackend(script);
    const agent = await createAgent({ model: backend });
    try {
      const result = await agent.run({ images: [await syntheticPhoto()], prompt: "Colour?" }).result;
      expect(result.status).toBe("answered");
      expect(result.steps.map((step) => step.calls.map((call) => [call.ok, call.failure ?? null]))).toEqual([
        [[false, "invalid-call"]],
        [[true, null]],
        [[false, "invalid-call"]],
        [],
      ]);
    } finally {
      await agent.close();
    }
  });

  it("ends as failed after N consecutive failed calls, with the trace", async () => {
    const bad = zoom([1, 2, 3, 4], 9, "nothing");
    const backend = new ScriptedBackend([bad, bad, bad, answerReply("", "never")]);
    const agent = await createAgent({ model: backend, budget: { maxConsecutiveToolFailures: 3 } });
    try {
      const result = await agent.run({ images: [await syntheticPhoto()], prompt: "?" }).result;
      expect(result.status).toBe("failed");
      expect(result.error?.code).toBe("TOOL_FAILED");
      expect(result.steps).toHaveLength(3);
      expect(result.steps[0].calls[0].summary).toMatch(/img_idx 9 does not exist/);
    } finally {
      await agent.close();
    }
  });

  it("keeps the user image and elides older crops when over the visual-token budget", async () => {
    const backend = new ScriptedBackend([
      zoom([0, 0, 500, 500], 0, "a"),
      zoom([500, 0, 1000, 500], 0, "b"),
      zoom([0, 500, 500, 1000], 0, "c"),
      answerReply("", "Done."),
    ]);
    // 1200×800 costs 950 tokens; each zoom at least 256. 1250 forces crops a and b out entirely.
    const agent = await createAgent({ model: backend, budget: { maxVisualTokens: 1250 } });
    try {
      const run = agent.run({ images: [await syntheticPhoto()], prompt: "?" });
      const [events, result] = await Promise.all([collect(run.events), run.result]);
      expect(result.status).toBe("answered");
      expect(result.images.map((image) => image.state)).toEqual(["full", "elided", "elided", "full"]);
      const seen = backend.requests[3].messages;
      const parts = seen.flatMap((message) => contentParts(message.content));
      const imageRefs = parts
        .filter((part) => part.type === "image")
        .map((part) => (part.type === "image" ? part.image : ""));
      expect(imageRefs).toEqual([result.images[0].storeId, result.images[3].storeId]);
      const text = parts.map((part) => (part.type === "text" ? part.text : "")).join("\n");
      expect(text).toContain("crop 1 of image 0 at [0,0,500,500], label 'a'");
      expect(text).toContain("crop 2 of image 0 at [500,0,1000,500], label 'b'");
      const budgets = events.flatMap((event) => (event.type === "budget" ? [event] : []));
      expect(budgets.at(-1)?.state.maxVisualTokens).toBe(1250);
      expect(budgets.at(-1)?.state.visualTokens).toBeLessThanOrEqual(1250);
      // Step 3 (two crops) already had to drop crop 1; step 4 drops crop 2 and keeps the newest, crop 3.
      expect(budgets.map((event) => event.elided.map((change) => [change.index, change.action]))).toEqual([
        [],
        [],
        [[1, "dropped"]],
        [[2, "dropped"]],
      ]);
      // The stored conversation keeps full images; only what the model is shown changes.
      expect(result.messages.flatMap((m) => contentParts(m.content)).filter((p) => p.type === "image")).toHaveLength(4);
    } finally {
      await agent.close();
    }
  });

  it("gives one last turn without tools when the steps run out", async () => {
    const backend = new ScriptedBackend([
      zoom([0, 0, 500, 500], 0, "a"),
      (request) => {
        expect(request.tools).toBeUndefined();
        const last = request.messages.at(-1);
        expect(last && contentParts(last.content)[0]).toEqual({ type: "text", text: FINAL_TURN_INSTRUCTION });
        return answerReply("", "Best guess: red.");
      },
    ]);
    const agent = await createAgent({ model: backend, stopWhen: stepCountIs(1) });
    try {
      const result = await agent.run({ images: [await syntheticPhoto()], prompt: "?" }).result;
      expect(result.status).toBe("answered");
      expect(result.answer).toBe("Best guess: red.");
      expect(result.steps.map((step) => step.finalTurn)).toEqual([false, true]);
    } finally {
      await agent.close();
    }
  });

  it("bounds the steps with stopWhen: stepCountIs(n), by default 8, and refuses the old budget.maxSteps", async () => {
    const backend = new ScriptedBackend([
      ...Array.from({ length: 8 }, () => zoom([0, 0, 500, 500], 0, "a")),
      answerReply("", "Red."),
    ]);
    const agent = await createAgent({ model: backend });
    try {
      const result = await agent.run({ images: [await syntheticPhoto()], prompt: "?" }).result;
      // Eight tool-using steps, then the final turn without tools that must answer.
      expect(result.steps.map((step) => step.finalTurn)).toEqual([...Array(8).fill(false), true]);
      expect(result.status).toBe("answered");
    } finally {
      await agent.close();
    }
    await expect(
      createAgent({ model: backend, budget: { maxSteps: 2 } as unknown as Partial<BudgetOptions> }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT", hint: expect.stringContaining("stepCountIs") });
    expect(() => stepCountIs(0)).toThrow(SquintError);
  });

  it("takes the model as a Backend or an id/directory (through createBackend), one key", async () => {
    // A string goes to the local engine's model resolution (createBackend), which says what is missing.
    await expect(createAgent({ model: "/no/such/model-dir" })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining("/no/such/model-dir"),
    });
    await expect(createAgent({ model: {} as unknown as Backend })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("stops when a stopWhen condition holds, and prepareStep can limit the tools", async () => {
    const seenTools: number[] = [];
    const backend = new ScriptedBackend([zoom([0, 0, 500, 500], 0, "a"), zoom([0, 0, 500, 500], 0, "a")]);
    const agent = await createAgent({
      model: backend,
      stopWhen: hasToolCall("image_zoom_in_tool"),
      prepareStep: ({ step }) => {
        seenTools.push(step);
        return { activeTools: ["image_zoom_in_tool"] };
      },
    });
    try {
      const result = await agent.run({ images: [await syntheticPhoto()], prompt: "?" }).result;
      expect(result.status).toBe("stopped");
      expect(seenTools).toEqual([1]);
      expect(backend.requests).toHaveLength(1);
    } finally {
      await agent.close();
    }
  });

  it("ends as exhausted when the wall-time budget runs out, cutting a generation that runs past it", async () => {
    // 200 chunks 10 ms apart: two seconds of generation against a 300 ms budget.
    const slow = answerReply("x".repeat(800), "too late");
    const backend = new ScriptedBackend([slow], { chunkSize: 4, chunkDelayMs: 10 });
    const agent = await createAgent({ model: backend, budget: { maxWallTimeMs: 300 } });
    try {
      const result = await agent.run({ images: [await syntheticPhoto()], prompt: "?" }).result;
      // Had the generation been waited for, the reply would have been an answer ("answered").
      expect(result.status).toBe("exhausted");
      expect(result.error).toMatchObject({ code: "BUDGET_EXCEEDED" });
      expect(result.error?.message).toContain("wall-time budget (300 ms)");
      expect(result.answer).toBeNull();
      expect(result.steps[0].finishReason).toBeNull();
    } finally {
      await agent.close();
    }
  });

  it("rejects a run whose image cannot be read, with a coded error, and ends its events", async () => {
    const agent = await createAgent({ model: new ScriptedBackend([]) });
    try {
      const run = agent.run({ images: ["/nowhere/missing.png"], prompt: "?" });
      expect(await collect(run.events)).toEqual([]);
      await expect(run.result).rejects.toMatchObject({ code: "NOT_FOUND" });
    } finally {
      await agent.close();
    }
  });

  it("aborts mid-generation through the AbortSignal", async () => {
    const backend = new ScriptedBackend([answerReply("x".repeat(400), "never")], { chunkSize: 4, chunkDelayMs: 5 });
    const agent = await createAgent({ model: backend });
    try {
      const controller = new AbortController();
      const run = agent.run({ images: [await syntheticPhoto()], prompt: "?", abortSignal: controller.signal });
      const events: AgentEvent[] = [];
      for await (const event of run.events) {
        events.push(event);
        if (event.type === "reasoning-delta" && events.filter((e) => e.type === "reasoning-delta").length === 3) {
          controller.abort("user pressed stop");
        }
      }
      const result = await run.result;
      expect(result.status).toBe("aborted");
      expect(result.error?.code).toBe("ABORTED");
      expect(result.error?.message).toContain("user pressed stop");
      const deltas = events.filter((event) => event.type === "reasoning-delta").length;
      expect(deltas).toBeLessThan(10);
      expect(events.at(-1)?.type).toBe("error");
    } finally {
      await agent.close();
    }
  });
});
