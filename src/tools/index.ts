import { annotateTool } from "./annotate.js";
import { cropTool } from "./crop.js";
import { enhanceTool } from "./enhance.js";
import { imageInfoTool } from "./image-info.js";
import { locateTool } from "./locate.js";
import { ocrTool } from "./ocr/ocr-tool.js";
import { rotateTool } from "./rotate.js";
import type { SquintTool } from "./tool.js";
import { zoomTool } from "./zoom.js";

/** The image tools Squint serves itself (the MCP server registers these; the agent calls them through it). */
export function builtinTools(): SquintTool[] {
  return [zoomTool, cropTool, rotateTool, enhanceTool, annotateTool, imageInfoTool, ocrTool, locateTool];
}

export { type LocateModel, type OcrFunction, type ToolContext, createToolContext } from "./context.js";
export { ImageStore, type StoredImage } from "./store/image-store.js";
export type { SquintTool, ToolDefinition, ToolResult, ToolRunOptions } from "./tool.js";
export { zoomToolSpec, ZOOM_TOOL_NAME } from "./zoom.js";
