import { describe, expect, it } from "vitest";
import { createAgent } from "../../src/agent/agent.js";
import { DEFAULT_BUDGET } from "../../src/agent/options.js";
import type { Backend, BackendEvent, GenerateRequest } from "../../src/runtime/backend.js";
import { syntheticPhoto } from "../agent/fixtures.js";
import { answerReply, ScriptedBackend } from "../support/scripted-backend.js";

/** A server that never stops: reasoning deltas forever, `everyMs` apart (0: as fast as it can). */
function endlessBackend(everyMs: number, chunk = "x".repeat(4096)): Backend & { cancelled: number } {
  const backend = {
    cancelled: 0,
    info: { name: "endless", thinking: true, minPixels: 65_536, maxPixels: 16_777_216 },
    async *generate(request: GenerateRequest): AsyncIterable<BackendEvent> {
      try {
        while (!request.signal?.aborted) {
          if (everyMs > 0) await new Promise((resolve) => setTimeout(resolve, everyMs));
          else await Promise.resolve();
          yield { type: "reasoning-delta", text: chunk };
        }
      } finally {
        backend.cancelled++;
      }
    },
    async close() {},
  };
  return backend;
}

describe("default limits of a run against a broken server", () => {
  it("has a finite wall time and reply length by default", () => {
    expect(DEFAULT_BUDGET.maxWallTimeMs).toBe(600_000);
    expect(DEFAULT_BUDGET.maxReplyChars).toBe(400_000);
  });

  // Before: an endless reasoning stream grew one string until V8 threw "Invalid string length".
  it("cuts a reply that never ends at maxReplyChars, closes the stream, and says why", async () => {
    const backend = endlessBackend(0);
    const agent = await createAgent({ model: backend, tools: [], budget: { maxReplyChars: 200_000 } });
    try {
      const result = await agent.run({ images: [await syntheticPhoto(64, 64)], prompt: "Think forever." }).result;
      expect(result.status).toBe("exhausted");
      expect(result.error?.code).toBe("BUDGET_EXCEEDED");
      expect(result.error?.message).toMatch(/passed 200000 characters/);
      expect(backend.cancelled).toBe(1);
    } finally {
      await agent.close();
    }
  });

  // Before: a server that sends an event every few seconds kept the run alive forever (no default wall time).
  it("ends a run whose server trickles events, at the wall-time budget", async () => {
    const backend = endlessBackend(20, "x");
    const agent = await createAgent({ model: backend, tools: [], budget: { maxWallTimeMs: 300 } });
    try {
      const result = await agent.run({ images: [await syntheticPhoto(64, 64)], prompt: "Trickle." }).result;
      expect(result.status).toBe("exhausted");
      expect(result.error?.code).toBe("BUDGET_EXCEEDED");
      await expect.poll(() => backend.cancelled).toBe(1);
    } finally {
      await agent.close();
    }
  });
});

describe("many runs on one caller signal", () => {
  // Before: each run added its own abort listener to the caller's signal: Node's MaxListenersExceededWarning at 11.
  it("adds one listener to it, not one per run, and aborting it still aborts every run", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    const backend = new ScriptedBackend([answerReply("Quick.", "Done.")]);
    const slow = new ScriptedBackend([answerReply("Thinking for a long while about it.", "Late.")], {
      chunkDelayMs: 20,
    });
    const agent = await createAgent({ model: backend, tools: [] });
    const slowAgent = await createAgent({ model: slow, tools: [] });
    try {
      const image = await syntheticPhoto(64, 64);
      const controller = new AbortController();
      const quick = Array.from(
        { length: 30 },
        () => agent.run({ images: [image], prompt: "q", abortSignal: controller.signal }).result,
      );
      expect((await Promise.all(quick)).every((result) => result.status === "answered")).toBe(true);
      const pending = Array.from(
        { length: 15 },
        () => slowAgent.run({ images: [image], prompt: "q", abortSignal: controller.signal }).result,
      );
      controller.abort("stop all");
      const ended = await Promise.all(pending);
      expect(ended.map((result) => result.status)).toEqual(Array(15).fill("aborted"));
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.startsWith("MaxListenersExceeded"))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      await agent.close();
      await slowAgent.close();
    }
  });
});
