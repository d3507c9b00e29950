import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { LocateModel, OcrFunction } from "../../src/tools/context.js";
import { builtinTools } from "../../src/tools/index.js";
import { gradient } from "./images.js";
import { contextWithImage } from "./tool-context.js";

describe("builtinTools", () => {
  it("lists each image tool once, OCR included", () => {
    const names = builtinTools().map((tool) => tool.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining([
        "image_zoom_in_tool",
        "image_crop",
        "image_rotate",
        "image_enhance",
        "image_annotate",
        "image_info",
        "ocr",
        "locate",
      ]),
    );
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
    const model: LocateModel = async () => '[{"bbox_2d": [100, 100, 300, 300], "label": "thing"}]';
    const ocr: OcrFunction = async (image) => ({ width: image.width, height: image.height, lines: [] });
    const { context, original } = await contextWithImage(gradient(200, 100), { locateModel: model, ocr });
    const calls: Record<string, Record<string, unknown>> = {
      image_zoom_in_tool: { bbox_2d: [100, 100, 600, 600], label: "x" },
      image_crop: { bbox_2d: [100, 100, 600, 600] },
      image_rotate: { angle: 30 },
      image_enhance: { greyscale: true, sharpen: 1 },
      image_annotate: { boxes: [{ bbox_2d: [100, 100, 600, 600], label: "a" }], points: [{ point_2d: [10, 10] }] },
      image_info: {},
      ocr: {},
      locate: { query: "thing" },
    };
    for (const tool of builtinTools()) {
      const args = calls[tool.name];
      expect(args, `a sample call for ${tool.name}`).toBeDefined();
      const input = tool.inputSchema.parse({ ...args, image: original.id });
      const result = await tool.run(input, context, {});
      const parsed = tool.outputSchema.strict().safeParse(result.structured);
      expect(parsed.success, `${tool.name}: ${parsed.error?.message}`).toBe(true);
      for (const id of result.images) expect(context.store.has(id)).toBe(true);
      expect(result.summary.length).toBeGreaterThan(0);
    }
  });
});
