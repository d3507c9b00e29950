import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { createSquintServer } from "../../src/mcp/server.js";
import { builtinTools } from "../../src/tools/index.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { PixelMemory } from "../../src/tools/store/pixel-memory.js";
import { WorkBudget } from "../../src/tools/store/work-budget.js";
import { encode, gradient } from "../tools/images.js";

/**
 * Found by bench/mcp/load.ts and soak.ts (issue 10 follow-up): under load, zooms failed with NOT_FOUND "Image
 * img-… was evicted" — a call resolved its image, waited for the work budget, and meanwhile other calls'
 * images pushed it out of the store. An image a call is using stays until the call is over.
 */
describe("an image a tool call is using is not evicted under it", () => {
  it("zooms an image that other calls pushed out of the store while this one waited for the work budget", async () => {
    const side = 600;
    const imageBytes = side * side * 3;
    // Room for two and a half decoded images in the store. The work budget is held so that a decode (2× the
    // image) fits beside what is running and the zoom of the whole image (≈ 3 images' worth) does not.
    const work = new WorkBudget({ maxBytes: 10 * imageBytes, maxQueued: 8, maxWaitMs: 10_000 });
    const store = new ImageStore({ maxStoreBytes: Math.floor(2.6 * imageBytes), work });
    const server = createSquintServer({ tools: builtinTools(), store, policy: defaultSourcePolicy() });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: "race", version: "0" });
    await server.connect(serverSide);
    await client.connect(clientSide);

    let unblock: () => void = () => undefined;
    const blocker = work.run(
      Math.floor(7.5 * imageBytes),
      "blocker",
      () => new Promise<void>((resolve) => (unblock = resolve)),
    );
    const source = `data:image/png;base64,${(await encode(gradient(side, side))).toString("base64")}`;
    const zoom = client.callTool({
      name: "image_zoom_in_tool",
      arguments: { image: source, bbox_2d: [0, 0, 1000, 1000] },
    }) as Promise<CallToolResult>;
    // The call has decoded its source and waits for room to zoom.
    const deadline = Date.now() + 5000;
    while ((store.stats().images === 0 || work.stats().queuedJobs === 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(work.stats().queuedJobs).toBe(1);
    // Meanwhile three other images go through the store, which has room for two and a half.
    for (let i = 1; i <= 3; i++) await store.ingest(await encode(gradient(side + i * 8, side)), { pin: false });
    unblock();
    await blocker;

    const result = await zoom;
    expect(result.isError, JSON.stringify(result.content).slice(0, 300)).toBeFalsy();
    // And the pin is given back once the call is over: nothing stays pinned.
    expect(store.stats().pinned).toBe(0);
    await client.close();
  });
});

describe("a store full of the images calls in progress hold", () => {
  it("answers BUSY (a passing state), not OUT_OF_MEMORY_BUDGET, and serves the same call once they finish", async () => {
    const side = 600;
    const imageBytes = side * side * 3;
    const work = new WorkBudget({ maxBytes: 10 * imageBytes, maxQueued: 8, maxWaitMs: 10_000 });
    // Room for one decoded image and a half: two do not fit. Two connections' stores share it, as in squint mcp.
    const memory = new PixelMemory(Math.floor(1.5 * imageBytes));
    const server = createSquintServer({
      tools: builtinTools(),
      store: () => new ImageStore({ memory, work }),
      policy: defaultSourcePolicy(),
    });
    const neighbour = new ImageStore({ memory, work });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: "held", version: "0" });
    await server.connect(serverSide);
    await client.connect(clientSide);
    const dataUri = async (width: number) =>
      `data:image/png;base64,${(await encode(gradient(width, side))).toString("base64")}`;

    // An image a call of another connection holds (the first test shows calls hold what they resolved).
    const held = await neighbour.ingest(await encode(gradient(side, side)), { pin: false });
    neighbour.retain(held.id);
    const other = { name: "image_info", arguments: { image: await dataUri(side + 16) } };
    const refused = (await client.callTool(other)) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect((refused._meta as Record<string, { code: string }>)["squint/error"].code).toBe("BUSY");
    // The call is over: the same request now goes through.
    neighbour.release(held.id);
    expect(((await client.callTool(other)) as CallToolResult).isError).toBeFalsy();
    await client.close();
  });
});
