import { createActor, toPromise } from "xstate";
import { describe, expect, it } from "vitest";
import type { AgentEvent } from "../../src/agent/events.js";
import { agentMachine, initialContext } from "../../src/agent/machine.js";
import { provideServices } from "../../src/agent/machine-services.js";
import type { AgentServices } from "../../src/agent/services.js";
import { visualTokenCount } from "../../src/model/vision.js";
import { answerReply, ScriptedBackend, toolCallReply } from "../support/scripted-backend.js";

// The machine is defined once at module level; a run supplies its services with provideServices (XState's
// .provide). These tests drive it directly, without createAgent, to show that contract.

const budget = {
  maxSteps: 3,
  maxWallTimeMs: null,
  maxVisualTokens: null,
  shrinkPixels: 65_536,
  maxConsecutiveToolFailures: 3,
  toolTimeoutMs: 5_000,
};

function context() {
  return initialContext({
    runId: "run-1",
    messages: [{ role: "user", content: [{ type: "text", text: "What is it?" }] }],
    images: [],
    budget,
  });
}

function services(
  backend: ScriptedBackend,
  streamed: AgentEvent[],
  overrides: Partial<AgentServices> = {},
): AgentServices {
  let clock = 0;
  return {
    backend,
    toolSpecs: () => [],
    runCall: async (call) => ({
      toolCallId: call.id,
      toolName: call.name,
      ok: true,
      text: `ran ${call.name}`,
      images: [],
      durationMs: 1,
    }),
    countTokens: visualTokenCount,
    resolveImage: async () => ({ width: 1, height: 1, data: new Uint8Array(3) }),
    emit: (event) => streamed.push(event),
    elapsed: () => 0,
    now: () => (clock += 10),
    stopWhen: [],
    newId: () => "id",
    ...overrides,
  };
}

describe("the agent machine", () => {
  it("holds no run's services: started bare, it fails loudly instead of calling a backend", async () => {
    const actor = createActor(agentMachine, { input: context() });
    // Subscribed before start: the first guard runs during start().
    const done = toPromise(actor);
    actor.start();
    await expect(done).rejects.toMatchObject({
      code: "INTERNAL",
      message: expect.stringMatching(/without its "wallTimeExceeded" implementation/),
    });
  });

  it("emits step events from its actions and gives the result as its output", async () => {
    const backend = new ScriptedBackend([
      toolCallReply("Look closer.", "image_zoom_in_tool", { img_idx: 0, bbox_2d: [0, 0, 500, 500] }),
      answerReply("Now I see.", "A red block."),
    ]);
    const streamed: AgentEvent[] = [];
    const emitted: AgentEvent[] = [];
    const actor = createActor(provideServices(services(backend, streamed)), { input: context() });
    actor.on("*", (event) => emitted.push(event));
    actor.start();
    const output = await toPromise(actor);

    expect(output.status).toBe("answered");
    expect(output.answer).toBe("A red block.");
    expect(output.steps.map((step) => step.calls.map((call) => call.toolName))).toEqual([["image_zoom_in_tool"], []]);
    expect(output.steps[1].inputTokens).toBeGreaterThanOrEqual(0);
    // Machine-level events come from actions (emit); deltas and tool events from the actors (services.emit).
    expect(emitted.map((event) => event.type)).toEqual([
      "start-step",
      "budget",
      "finish-step",
      "start-step",
      "budget",
      "finish-step",
      "answer",
    ]);
    const finish = emitted.find((event) => event.type === "finish-step");
    expect(finish).toMatchObject({ step: 1, finishReason: "tool-calls" });
    expect(streamed.some((event) => event.type === "tool-call")).toBe(true);
    expect(streamed.some((event) => event.type === "tool-result")).toBe(true);
    expect(streamed.every((event) => !["start-step", "finish-step", "answer"].includes(event.type))).toBe(true);
  });

  it("names the final state in its output: stopped by a stop condition, aborted by an event", async () => {
    const backend = new ScriptedBackend([
      toolCallReply("Look.", "image_zoom_in_tool", { img_idx: 0, bbox_2d: [0, 0, 500, 500] }),
      answerReply("Done.", "Never reached."),
    ]);
    const stopped = createActor(provideServices(services(backend, [], { stopWhen: [({ step }) => step >= 1] })), {
      input: context(),
    });
    stopped.start();
    expect((await toPromise(stopped)).status).toBe("stopped");

    const slow = new ScriptedBackend([answerReply("Thinking for a long while.", "Late.")], { chunkDelayMs: 50 });
    const aborted = createActor(provideServices(services(slow, [])), { input: context() });
    aborted.start();
    aborted.send({ type: "abort", reason: "user" });
    const output = await toPromise(aborted);
    expect(output.status).toBe("aborted");
    expect(output.error).toMatchObject({ code: "ABORTED", message: "The run was aborted: user" });
  });
});
