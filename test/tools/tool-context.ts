import type { z } from "zod";
import { isSquintError } from "../../src/errors.js";
import { createToolContext, type ToolContext } from "../../src/tools/context.js";
import { ImageStore, type StoredImage } from "../../src/tools/store/image-store.js";
import type { RawImage } from "../../src/model/vision.js";
import type { ToolDefinition, ToolResult, ToolRunOptions } from "../../src/tools/tool.js";
import { encode } from "./images.js";

/** A store holding one image (from pixels, losslessly) and a context over it. */
export async function contextWithImage(
  image: RawImage,
  extra: Partial<Pick<ToolContext, "locateModel" | "ocr">> = {},
): Promise<{ context: ToolContext; original: StoredImage }> {
  const store = new ImageStore();
  const original = await store.ingest(await encode(image), { source: "test image" });
  return { context: createToolContext({ store, ...extra }), original };
}

/** The SquintError code a promise rejects with (or a string saying it was something else). */
export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isSquintError(error) ? error.code : `not a SquintError: ${String(error)}`;
  }
  return undefined;
}

/** Calls a tool the way the MCP server does: arguments through the tool's zod schema (defaults filled), then run. */
export async function callTool<I extends z.ZodObject, O extends z.ZodObject>(
  tool: ToolDefinition<I, O, ToolContext>,
  args: z.input<I>,
  context: ToolContext,
  options: ToolRunOptions = {},
): Promise<ToolResult<z.infer<O>>> {
  return tool.run(tool.inputSchema.parse(args), context, options);
}
