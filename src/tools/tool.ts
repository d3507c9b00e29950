import type { z } from "zod";
import type { ToolContext } from "./context.js";

/**
 * A tool is a zod input schema, a zod output schema and a function. No transport here: the MCP server
 * (src/mcp) registers these definitions as they are, and the agent calls them through MCP.
 *
 * `TContext` is what the function receives besides its input: the image store, the limits and policies of
 * the caller (which paths and URLs an image argument may name), progress reporting and cancellation.
 */
export interface ToolProgress {
  progress: number;
  total?: number;
  message?: string;
}

export interface ToolRunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: ToolProgress) => void;
}

export interface ToolResult<TOutput> {
  /** JSON for `structuredContent`: boxes, sizes, text. Never base64. */
  structured: TOutput;
  /** Ids (in the image store) of images this call produced, in order; transports attach or link them. */
  images: string[];
  /** A short human/model-readable summary for the text content block. */
  summary: string;
}

export interface ToolDefinition<
  TInput extends z.ZodObject = z.ZodObject,
  TOutput extends z.ZodObject = z.ZodObject,
  TContext = unknown,
> {
  name: string;
  title: string;
  description: string;
  inputSchema: TInput;
  outputSchema: TOutput;
  /** Hints for hosts (MCP tool annotations). */
  annotations?: { readOnlyHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
  run(input: z.infer<TInput>, context: TContext, options: ToolRunOptions): Promise<ToolResult<z.infer<TOutput>>>;
}

/**
 * Any of Squint's tools as a server or the agent takes them: the built-in image tools, `ask_image`, and tools a
 * program adds. One name for what the MCP server registers and what `createAgent({ tools })` accepts.
 */
export type SquintTool = ToolDefinition<z.ZodObject, z.ZodObject, ToolContext>;
