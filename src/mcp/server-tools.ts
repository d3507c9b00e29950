import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  type CallToolResult,
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { clipForMessage, formatError, SquintError, toSquintError, zodError } from "../errors.js";
import type { WorkBudget } from "../tools/store/work-budget.js";
import type { RawImage } from "../model/vision.js";
import type { ToolDefinition, ToolProgress } from "../tools/tool.js";
import { imageUri } from "../tools/sources/reference.js";
import {
  DEFAULT_INLINE_LIMITS,
  encodeInline,
  type InlineLimits,
  inlineEncodeBytes,
  inlineWireBytes,
} from "./server-images.js";

/**
 * Tools on the wire. We answer tools/list and tools/call ourselves instead of using McpServer.registerTool:
 * the SDK's handler turns a bad argument into its own "Input validation error" text and any throw into a bare
 * message, while every error here must carry a SquintError code and hint; and a ToolDefinition's result
 * (structured JSON + store ids) needs turning into image content and links anyway.
 */
export type ToolCallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** One tool as the server lists and calls it. */
export interface McpTool {
  listing: Tool;
  call(args: Record<string, unknown>, extra: ToolCallExtra): Promise<CallToolResult>;
}

/** Where a tool's result images come from: the image store, seen narrowly. */
export interface ResultImages {
  pixels(id: string): RawImage;
  describe(id: string): { width: number; height: number; label?: string };
  /**
   * Admission for encoding result images (the store's work budget). An inline copy of a 12 MP zoom is a
   * resize and a PNG encode on libuv's threads: unadmitted, ten of them held memory the budget never saw and
   * every thread that small calls' file reads need.
   */
  work?: WorkBudget;
}

export interface ToolBridgeOptions<TContext> {
  /** The context for one call (roots may have changed since the last one, hence per call). */
  context(extra: ToolCallExtra): Promise<TContext>;
  /** Called once the call is over (its result content made, or it failed) with the context it ran with. */
  endCall?(context: TContext): void;
  /** A last look at a tool's error before it becomes the result (the server turns passing states into BUSY). */
  mapError?(error: unknown): unknown;
  images: ResultImages;
  /** Put the first result image inline (for hosts outside the process); links are always sent. */
  inlineImages: boolean;
  inlineLimits?: InlineLimits;
  /** Told about every image id a result links to (the resource list shows them). */
  onImageLinked?(id: string): void;
  /**
   * Longest one call may run, in ms (none when undefined): past it the tool's signal aborts and the call
   * fails with TOOL_TIMEOUT, even if the tool does not stop.
   */
  timeoutMs?: number;
}

/** Rejects with the signal's reason once it aborts (never resolves). */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/** The error result a host shows the model: message, code and hint as text; the same as JSON in _meta. */
export function errorResult(error: SquintError): CallToolResult {
  const { code, message, hint, details } = error.toJSON();
  return {
    isError: true,
    content: [{ type: "text", text: formatError(error) }],
    _meta: { "squint/error": { code, message, ...(hint ? { hint } : {}), ...(details ? { details } : {}) } },
  };
}

/** An unexpected failure (not a SquintError) still tells the caller what to do next. */
function withHint(error: SquintError, toolName: string): SquintError {
  if (error.hint) return error;
  return new SquintError(error.code, error.message, {
    hint: `${toolName} failed unexpectedly: check the image and arguments, and report it if it happens again with valid input.`,
    ...(error.details ? { details: error.details } : {}),
  });
}

function jsonSchemaOf(schema: z.ZodObject, io: "input" | "output"): Tool["inputSchema"] {
  // "any" for what JSON Schema cannot say (a refinement, a transform): the zod schema still validates it here.
  const json = z.toJSONSchema(schema, { target: "draft-7", io, unrepresentable: "any" }) as Record<string, unknown>;
  if (json.type !== "object") throw new SquintError("INTERNAL", "Tool schemas must be z.object.");
  return json as Tool["inputSchema"];
}

function progressSender(extra: ToolCallExtra): ((progress: ToolProgress) => void) | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  return (progress) => {
    extra
      .sendNotification({
        method: "notifications/progress",
        params: {
          progressToken: token,
          progress: progress.progress,
          ...(progress.total === undefined ? {} : { total: progress.total }),
          ...(progress.message === undefined ? {} : { message: progress.message }),
        },
      })
      // A progress note that cannot be sent (client gone) must not fail the tool.
      .catch(() => undefined);
  };
}

export function toolFromDefinition<TContext>(
  definition: ToolDefinition<z.ZodObject, z.ZodObject, TContext>,
  options: ToolBridgeOptions<TContext>,
): McpTool {
  const listing: Tool = {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    inputSchema: jsonSchemaOf(definition.inputSchema, "input"),
    outputSchema: jsonSchemaOf(definition.outputSchema, "output"),
    ...(definition.annotations ? { annotations: { title: definition.title, ...definition.annotations } } : {}),
  };
  const inlineLimits = options.inlineLimits ?? DEFAULT_INLINE_LIMITS;

  /**
   * `held` receives the release of what the response's copies of an inline image hold (inlineWireBytes): given
   * back once the call's result has been handed to the transport.
   */
  async function resultContent(ids: readonly string[], held: Array<() => void>): Promise<CallToolResult["content"]> {
    const content: CallToolResult["content"] = [];
    for (const [index, id] of ids.entries()) {
      const info = options.images.describe(id);
      if (index === 0 && options.inlineImages) {
        const pixels = options.images.pixels(id);
        const encode = () => encodeInline(pixels, inlineLimits);
        // The call's own result: its encode and send wait ahead of work that starts new calls.
        const ahead = { ahead: true };
        const work = options.images.work;
        const inline = work
          ? await work.run(inlineEncodeBytes(pixels, inlineLimits), `Encoding ${id} inline`, encode, undefined, ahead)
          : await encode();
        if (work) {
          held.push(await work.acquire(inlineWireBytes(inline.data.length), `Sending ${id} inline`, undefined, ahead));
        }
        content.push({ type: "image", data: inline.data.toString("base64"), mimeType: inline.mimeType });
      }
      options.onImageLinked?.(id);
      content.push({
        type: "resource_link",
        uri: imageUri(id),
        name: id,
        title: info.label ?? id,
        description: `${id}: ${info.width}×${info.height} px at full resolution; pass "${id}" as the image of another tool.`,
      });
    }
    return content;
  }

  return {
    listing,
    async call(args, extra) {
      const timeLimit = options.timeoutMs;
      const timeout = timeLimit === undefined ? undefined : AbortSignal.timeout(timeLimit);
      const signal = timeout ? AbortSignal.any([extra.signal, timeout]) : extra.signal;
      let context: TContext | undefined;
      const held: Array<() => void> = [];
      try {
        const parsed = definition.inputSchema.safeParse(args);
        if (!parsed.success) {
          throw zodError(parsed.error, `Invalid arguments for ${definition.name}`, {
            hint: "Fix the arguments to match the tool's input schema (tools/list shows it).",
          });
        }
        context = await options.context(extra);
        const onProgress = progressSender(extra);
        const running = definition.run(parsed.data, context, { signal, ...(onProgress ? { onProgress } : {}) });
        if (timeout) running.catch(() => undefined); // a tool that stops late must not reject unheard
        const result = await (timeout ? Promise.race([running, untilAborted(timeout)]) : running);
        signal.throwIfAborted();
        const structured = definition.outputSchema.safeParse(result.structured);
        if (!structured.success) {
          throw zodError(
            structured.error,
            `${definition.name} produced a result that does not match its output schema`,
            {
              code: "INTERNAL",
              hint: "This is a bug in the tool; please report it with the arguments you used.",
            },
          );
        }
        const images = await resultContent(result.images, held);
        // The JSON text block is the spec's fallback for clients that ignore structuredContent.
        const text = `${result.summary}\n${JSON.stringify(structured.data)}`;
        return {
          content: [{ type: "text", text }, ...images],
          structuredContent: structured.data as Record<string, unknown>,
        };
      } catch (error) {
        if (extra.signal.aborted) {
          return errorResult(
            new SquintError("ABORTED", `${definition.name} was cancelled.`, {
              hint: "Call it again if you still need the result.",
            }),
          );
        }
        if (timeout?.aborted) {
          return errorResult(
            new SquintError("TOOL_TIMEOUT", `${definition.name} ran past this server's limit of ${timeLimit} ms.`, {
              hint: "Ask for less in one call (a smaller region or image), or raise the server's toolTimeoutMs.",
              details: { timeoutMs: timeLimit },
            }),
          );
        }
        const mapped = options.mapError ? options.mapError(error) : error;
        return errorResult(withHint(toSquintError(mapped, "TOOL_FAILED"), definition.name));
      } finally {
        if (context !== undefined) options.endCall?.(context);
        // The transport serializes and writes the result in the microtasks after this returns.
        if (held.length > 0)
          setImmediate(() => {
            for (const release of held) release();
          });
      }
    },
  };
}

/**
 * A JSON-RPC error carrying a SquintError. Not McpError: its constructor prefixes "MCP error <code>:" to the
 * message, and the client's McpError prefixes it again, so the host would show the prefix twice.
 */
export function protocolError(code: number, error: SquintError): Error & { code: number; data: unknown } {
  return Object.assign(new Error(formatError(error)), { code, data: error.toJSON() });
}

/** Installs tools/list and tools/call on a low-level server (before it connects). */
export function installTools(server: Server, tools: readonly McpTool[]): void {
  const byName = new Map(tools.map((tool) => [tool.listing.name, tool]));
  server.registerCapabilities({ tools: { listChanged: false } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: tools.map((tool) => tool.listing) }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const tool = byName.get(request.params.name);
    if (!tool) {
      // An unknown tool is a protocol error (spec: -32602), not a tool result.
      const error = new SquintError("UNKNOWN_TOOL", `Unknown tool "${clipForMessage(request.params.name)}".`, {
        hint: `Available tools: ${[...byName.keys()].join(", ")}.`,
      });
      throw protocolError(ErrorCode.InvalidParams, error);
    }
    return tool.call(request.params.arguments ?? {}, extra);
  });
}
