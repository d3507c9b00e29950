import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createSquintServer } from "../../src/mcp/server.js";
import type { LocateModel, OcrFunction } from "../../src/tools/context.js";
import { builtinTools } from "../../src/tools/index.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { gradient } from "./images.js";
import { contextWithImage } from "./tool-context.js";

/** One valid call per built-in tool (the image is added by each test). */
const sampleCalls: Record<string, Record<string, unknown>> = {
  image_zoom_in_tool: { bbox_2d: [100, 100, 600, 600], label: "x" },
  image_crop: { bbox_2d: [100, 100, 600, 600] },
  image_rotate: { angle: 30 },
  image_enhance: { greyscale: true, sharpen: 1 },
  image_annotate: { boxes: [{ bbox_2d: [100, 100, 600, 600], label: "a" }], points: [{ point_2d: [10, 10] }] },
  image_info: {},
  ocr: {},
  locate: { query: "thing" },
};

const locateModel: LocateModel = async () => '[{"bbox_2d": [100, 100, 300, 300], "label": "thing"}]';
const ocr: OcrFunction = async (image) => ({ width: image.width, height: image.height, lines: [] });

describe("builtinTools", () => {
  it("lists each image tool once, OCR included", () => {
    const names = builtinTools().map((tool) => tool.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(Object.keys(sampleCalls).sort());
  });

  it("has schemas that become JSON Schema (what MCP hosts and the model's system prompt get)", () => {
    for (const tool of builtinTools()) {
      const input = z.toJSONSchema(tool.inputSchema, { io: "input" }) as { type?: string; properties?: object };
      const output = z.toJSONSchema(tool.outputSchema, { io: "output" }) as { type?: string };
      expect(input.type, tool.name).toBe("object");
      expect(output.type, tool.name).toBe("object");
      expect(Object.keys(input.properties ?? {}), tool.name).toContain("image");
    }
  });

  it("returns results that match each tool's own output schema, with no unknown keys", async () => {
    const { context, original } = await contextWithImage(gradient(200, 100), { locateModel, ocr });
    for (const tool of builtinTools()) {
      const input = tool.inputSchema.parse({ ...sampleCalls[tool.name], image: original.id });
      const result = await tool.run(input, context, {});
      const parsed = tool.outputSchema.strict().safeParse(result.structured);
      expect(parsed.success, `${tool.name}: ${parsed.error?.message}`).toBe(true);
      for (const id of result.images) expect(context.store.has(id)).toBe(true);
      expect(result.summary.length).toBeGreaterThan(0);
    }
  });

  it("works over MCP: the SDK client accepts every result against the listed output schemas", async () => {
    const { context, original } = await contextWithImage(gradient(200, 100));
    const server = createSquintServer({
      tools: builtinTools(),
      store: context.store,
      policy: defaultSourcePolicy(),
      useClientRoots: false,
      contextExtras: { locateModel, ocr },
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: "tools-test", version: "0" });
    await client.connect(clientSide);
    try {
      // Listing first makes the client validate structuredContent against each tool's output schema.
      expect((await client.listTools()).tools).toHaveLength(builtinTools().length);
      for (const [name, args] of Object.entries(sampleCalls)) {
        const result = await client.callTool({ name, arguments: { ...args, image: original.id } });
        expect(result.isError, `${name}: ${JSON.stringify(result.content).slice(0, 300)}`).toBeFalsy();
      }
      const bad = await client.callTool({
        name: "image_zoom_in_tool",
        arguments: { bbox_2d: [600, 100, 400, 300], image: original.id },
      });
      expect(bad.isError).toBe(true);
      expect(JSON.stringify(bad.content)).toContain("INVALID_ARGUMENT");
    } finally {
      await client.close();
    }
  });
});
