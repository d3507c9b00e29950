import { describe, expect, it } from "vitest";
import { createAgent } from "../../src/agent/agent.js";
import { stepCountIs } from "../../src/agent/stop-conditions.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { syntheticPhoto } from "../agent/fixtures.js";
import { answerReply, ScriptedBackend, toolCallReply } from "../support/scripted-backend.js";

// The attack: a long run whose crops outgrow the image store's pixel memory. Before, the store evicted the
// pixels of crops the conversation still showed, and the run died with NOT_FOUND "Image img-N was evicted".
describe("a long run under a small image store", () => {
  const zooms = Array.from({ length: 8 }, (_, i) =>
    toolCallReply(`Zoom ${i}.`, "image_zoom_in_tool", { bbox_2d: [0, 0, 900, 900], img_idx: 0, label: `z${i}` }),
  );

  it("keeps every image the model still sees, lets elided ones go, and releases the rest at the end", async () => {
    const backend = new ScriptedBackend([...zooms, answerReply("Seen them all.", "Done.")]);
    // Less than the run's 21 MB of pixels: older crops must go, and only those the model no longer sees may.
    const store = new ImageStore({ maxStoreBytes: 16_000_000 });
    // A visual budget of about one and a half full images: older crops are shrunk, then elided, as new ones come.
    const agent = await createAgent({
      model: backend,
      store,
      stopWhen: stepCountIs(10),
      budget: { maxVisualTokens: 1_500 },
    });
    try {
      const result = await agent.run({ images: [await syntheticPhoto()], prompt: "Look at it many times." }).result;
      expect(result.error).toBeNull();
      expect(result.status).toBe("answered");
      expect(result.images).toHaveLength(9);
      expect(result.images.some((image) => image.state === "elided")).toBe(true);
      // Every request decoded every image it showed (the scripted backend reads them as a real one does).
      expect(backend.requests).toHaveLength(9);
      // Afterwards only the user's original stays pinned (by its ingest, until the caller releases it).
      expect(store.stats().pinned).toBe(1);
    } finally {
      await agent.close();
    }
  });

  // Before the fix this run ended with NOT_FOUND "Image img-3 was evicted from the image store".
  it("with no visual budget, refuses new crops with a clear error instead of losing old ones", async () => {
    const backend = new ScriptedBackend([...zooms, answerReply("Seen them all.", "Done.")]);
    const store = new ImageStore({ maxStoreBytes: 6_000_000 });
    const agent = await createAgent({
      model: backend,
      store,
      stopWhen: stepCountIs(10),
      budget: { maxVisualTokens: null },
    });
    try {
      const result = await agent.run({ images: [await syntheticPhoto()], prompt: "Look at it many times." }).result;
      // The old failure was NOT_FOUND "Image img-N was evicted"; now the new crop is refused and says why.
      expect(result.error?.code).not.toBe("NOT_FOUND");
      const failed = result.steps.flatMap((step) => step.calls).filter((call) => !call.ok);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed[0].summary).toMatch(/OUT_OF_MEMORY_BUDGET/);
      expect(store.stats().pinned).toBe(1);
    } finally {
      await agent.close();
    }
  });
});
