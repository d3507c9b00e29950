import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { inlineEncodeBytes, inlineWireBytes } from "../../src/mcp/server-images.js";
import { createSquintServer, type SquintTool } from "../../src/mcp/server.js";
import { identity } from "../../src/tools/geometry.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { WorkBudget } from "../../src/tools/store/work-budget.js";
import { gradient } from "../tools/images.js";

/**
 * Issue 10, load bench: RSS went to twice the configured budget. One thing the budget did not see was the
 * inline copy of every result image (a 12 MP zoom scaled and PNG-encoded on libuv's threads, ten at a time
 * under load). Encoding a result is now admitted against the work budget like the pixel work before it.
 */
const emitTool: SquintTool = {
  name: "emit",
  title: "Emit",
  description: "Makes a derived image without pixel work of its own.",
  inputSchema: z.object({}),
  outputSchema: z.object({ id: z.string() }),
  async run(_input, context) {
    const base = context.store.get("img-1");
    const derived = context.store.derive(base.id, gradient(600, 400), {
      operation: "zoom",
      toParent: identity,
    });
    return { structured: { id: derived.id }, images: [derived.id], summary: `made ${derived.id}` };
  },
};

async function connect(store: ImageStore): Promise<Client> {
  const server = createSquintServer({ tools: [emitTool], store, policy: defaultSourcePolicy() });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "test", version: "0" });
  await server.connect(serverSide);
  await client.connect(clientSide);
  return client;
}

/** A store under `work` holding the parent every emitted image derives from (img-1). */
async function storeWithParent(work: WorkBudget): Promise<ImageStore> {
  const store = new ImageStore({ work });
  const raw = gradient(60, 40);
  await store.ingest(
    await sharp(raw.data, { raw: { width: 60, height: 40, channels: 3 } })
      .png()
      .toBuffer(),
  );
  return store;
}

describe("result images are encoded under the work budget", () => {
  it("refuses the inline encode as BUSY while the budget is full, and encodes once it has room", async () => {
    const work = new WorkBudget({ maxBytes: 64 * 1024 * 1024, maxQueued: 0, maxWaitMs: 1000 });
    const store = await storeWithParent(work);
    const client = await connect(store);
    try {
      const hold = await work.acquire(64 * 1024 * 1024, "everything");
      const refused = (await client.callTool({ name: "emit", arguments: {} })) as CallToolResult;
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused)).toMatch(/BUSY/);
      hold();
      const ok = (await client.callTool({ name: "emit", arguments: {} })) as CallToolResult;
      expect(ok.isError).toBeFalsy();
      expect(ok.content.some((part) => part.type === "image")).toBe(true);
      // The response's copies are given back once the result has been handed to the transport.
      await new Promise((resolve) => setImmediate(resolve));
      expect(work.stats()).toMatchObject({ runningJobs: 0, runningBytes: 0 });
    } finally {
      await client.close();
    }
  });

  it("counts the response's copies of the inline image until the result is handed to the transport", async () => {
    const acquired: Array<{ what: string; bytes: number }> = [];
    class Recording extends WorkBudget {
      override acquire(bytes: number, what: string, signal?: AbortSignal) {
        acquired.push({ what, bytes });
        return super.acquire(bytes, what, signal);
      }
    }
    const work = new Recording({ maxBytes: 64 * 1024 * 1024 });
    const store = await storeWithParent(work);
    const client = await connect(store);
    try {
      const result = (await client.callTool({ name: "emit", arguments: {} })) as CallToolResult;
      const image = result.content.find((part) => part.type === "image");
      if (image?.type !== "image") throw new Error("no inline image");
      const sending = acquired.find((entry) => entry.what.startsWith("Sending"));
      expect(sending?.bytes).toBe(inlineWireBytes(Buffer.from(image.data, "base64").length));
      expect(sending?.bytes).toBe(image.data.length * 3);
      await new Promise((resolve) => setImmediate(resolve));
      expect(work.stats()).toMatchObject({ runningJobs: 0, runningBytes: 0 });
    } finally {
      await client.close();
    }
  });

  it("counts the source and the scaled copy, so a large result is a large job", () => {
    const budget = new WorkBudget();
    expect(budget.laneOf(inlineEncodeBytes({ width: 512, height: 512, data: new Uint8Array(0) }))).toBe("small");
    expect(budget.laneOf(inlineEncodeBytes({ width: 4128, height: 3104, data: new Uint8Array(0) }))).toBe("large");
  });
});
