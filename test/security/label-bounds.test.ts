import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { createSquintServer } from "../../src/mcp/server.js";
import { MAX_LABEL_CHARS } from "../../src/tools/context.js";
import { builtinTools } from "../../src/tools/index.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { encode, gradient } from "../tools/images.js";

/**
 * Issue 10: `label` had no length limit. A 3 MB label was echoed four times (the answer exceeded the SDK stdio
 * client's limit and the server died), and 30 labels of 20 MB held 1.1 GiB. Labels are bounded, and neither a
 * huge label nor a huge tool name is echoed back in the error.
 */
async function connect(): Promise<{ client: Client; store: ImageStore }> {
  const store = new ImageStore();
  const server = createSquintServer({ tools: builtinTools(), store, policy: defaultSourcePolicy() });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "labels", version: "0" });
  await server.connect(serverSide);
  await client.connect(clientSide);
  return { client, store };
}

describe("bounded model-controlled strings", () => {
  it.each(["image_zoom_in_tool", "image_crop"])("%s refuses a 3 MB label without echoing it", async (tool) => {
    const { client, store } = await connect();
    const image = await store.ingest(await encode(gradient(64, 64)), { source: "test" });
    const label = "L".repeat(3 * 1024 * 1024);
    const result = (await client.callTool({
      name: tool,
      arguments: { image: image.id, bbox_2d: [0, 0, 500, 500], label },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect((result._meta as Record<string, { code: string }>)["squint/error"]!.code).toBe("INVALID_ARGUMENT");
    expect(JSON.stringify(result).length).toBeLessThan(4096);
    expect(store.stats().images).toBe(1);
    await client.close();
  });

  it("keeps a label up to the limit", async () => {
    const { client, store } = await connect();
    const image = await store.ingest(await encode(gradient(64, 64)), { source: "test" });
    const label = "x".repeat(MAX_LABEL_CHARS);
    const result = (await client.callTool({
      name: "image_zoom_in_tool",
      arguments: { image: image.id, bbox_2d: [0, 0, 500, 500], label },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect((result.structuredContent as { label: string }).label).toBe(label);
    await client.close();
  });

  it("does not echo a 4 MiB tool name", async () => {
    const { client } = await connect();
    const error = await client.callTool({ name: "n".repeat(4 * 1024 * 1024), arguments: {} }).catch((e: unknown) => e);
    expect(String((error as Error).message).length).toBeLessThan(4096);
    await client.close();
  });
});
