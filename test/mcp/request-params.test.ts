import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Client as SdkClient } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { CallToolResultSchema, ReadResourceResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { serveHttp } from "../../src/mcp/http.js";
import { invalidParamsReply } from "../../src/mcp/request-params.js";
import { createSquintServer } from "../../src/mcp/server.js";
import { builtinTools } from "../../src/tools/index.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { connectHttp } from "./harness.js";

/**
 * Issue 10: a request whose params do not fit its method (`"arguments": [1, 2]` on tools/call) came back as
 * -32603 with the whole zod issue list as its message. It is -32602 with one short line, on every transport.
 */
const options = () => ({ tools: builtinTools(), store: new ImageStore(), policy: defaultSourcePolicy() });

async function expectInvalidParams(client: Client): Promise<void> {
  const call = client.request(
    { method: "tools/call", params: { name: "image_info", arguments: [1, 2] as unknown as Record<string, unknown> } },
    CallToolResultSchema,
  );
  await expect(call).rejects.toMatchObject({ code: -32602 });
  const message = String(((await call.catch((error: unknown) => error)) as Error).message);
  expect(message).toMatch(/params\.arguments: .*expected record, received array/);
  expect(message.length).toBeLessThan(300);
  expect(message).not.toContain("[\n");
  // The session goes on.
  await expect(
    client.request({ method: "resources/read", params: { uri: 42 as unknown as string } }, ReadResourceResultSchema),
  ).rejects.toMatchObject({ code: -32602 });
  expect((await client.listTools()).tools.length).toBeGreaterThan(0);
}

describe("malformed request params", () => {
  it("in process", async () => {
    const server = createSquintServer(options());
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new SdkClient({ name: "params", version: "0" });
    await server.connect(serverSide);
    await client.connect(clientSide);
    await expectInvalidParams(client);
    await client.close();
  });

  it("over HTTP (loopback)", async () => {
    const handle = await serveHttp({ createServer: () => createSquintServer(options()), port: 0 });
    try {
      const { client } = await connectHttp(handle.url);
      await expectInvalidParams(client);
      await client.close();
    } finally {
      await handle.close();
    }
  });

  it("leaves well-formed requests, notifications and unknown methods to the SDK", () => {
    expect(invalidParamsReply({ jsonrpc: "2.0", id: 1, method: "tools/list" })).toBeUndefined();
    expect(invalidParamsReply({ jsonrpc: "2.0", method: "notifications/initialized" })).toBeUndefined();
    expect(invalidParamsReply({ jsonrpc: "2.0", id: 2, method: "no/such", params: { x: [] } })).toBeUndefined();
    expect(
      invalidParamsReply({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "x", arguments: {} } }),
    ).toBeUndefined();
  });
});
