import { z } from "zod";
import type { ToolSpec } from "../model/messages.js";
import type { ListedTool, McpToolset } from "../mcp/client/toolset.js";
import { imageUri } from "../tools/sources/reference.js";
import type { ImageStore } from "../tools/store/image-store.js";
import { ZOOM_TOOL_NAME, zoomToolSpec } from "../tools/zoom.js";
import type { CallOutcome } from "./context.js";
import type { ImageEntry } from "./image-index.js";

/**
 * Between the model's tool calls and the MCP tools: what the model is shown (the zoom tool exactly as Qwen3-VL
 * was trained on it; other image tools with `img_idx` as their image argument), and what happens to a call
 * before it reaches the server: its arguments checked against the schema the model saw, small mistakes repaired
 * (numbers as strings, arrays as JSON strings, a lone `img_idx` left out), `img_idx` turned into the stored
 * image, and every failure turned into a short message the model can act on.
 */

interface ModelTool {
  listed: ListedTool;
  spec: ToolSpec;
  validator: z.ZodType;
  /** The tool takes an image as `image` (a store link for the built-in server) chosen by the model's img_idx. */
  imageArgument: boolean;
}

export interface AgentTools {
  /** The tools as the model sees them (img_idx for image arguments); `active` limits the list. */
  toolSpecs(active?: string[]): ToolSpec[];
  /** Runs one call: maps img_idx, checks arguments, calls the tool, never throws for tool-side failures. */
  runCall(
    call: { id: string; name: string; arguments: Record<string, unknown> },
    images: ImageEntry[],
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<CallOutcome>;
  readonly names: string[];
}

type JsonSchema = Record<string, unknown> & {
  properties?: Record<string, Record<string, unknown>>;
  required?: string[];
};

function modelSchema(listed: ListedTool): { parameters: JsonSchema; imageArgument: boolean } {
  const schema = structuredClone(listed.inputSchema) as JsonSchema;
  delete schema.$schema;
  const properties = schema.properties ?? {};
  const imageArgument = "image" in properties && properties.image?.type === "string";
  if (imageArgument) {
    delete properties.image;
    properties.img_idx ??= { type: "number", description: "The index of the image (starting from 0)" };
    schema.required = [...new Set([...(schema.required ?? []).filter((name) => name !== "image"), "img_idx"])];
  }
  return { parameters: { ...schema, properties }, imageArgument };
}

function toModelTool(listed: ListedTool): ModelTool {
  const { parameters, imageArgument } = modelSchema(listed);
  // The built-in zoom tool is shown exactly as in training (spec §7); its server schema is a superset.
  const spec: ToolSpec =
    listed.serverTool === ZOOM_TOOL_NAME && listed.inProcess
      ? zoomToolSpec
      : { type: "function", function: { name: listed.name, description: listed.description, parameters } };
  let validator: z.ZodType;
  try {
    validator = z.fromJSONSchema(parameters as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    // A schema zod cannot read is left to the server to check.
    validator = z.record(z.string(), z.unknown());
  }
  return { listed, spec, validator, imageArgument };
}

const numeric = /^\s*-?\d+(\.\d+)?\s*$/;

/** The small, safe repairs: each returns a changed copy, or undefined when it does not apply. */
function repairArguments(
  args: Record<string, unknown>,
  parameters: JsonSchema,
  imageCount: number,
): Record<string, unknown> {
  const repaired: Record<string, unknown> = { ...args };
  const properties = parameters.properties ?? {};
  for (const [key, property] of Object.entries(properties)) {
    const value = repaired[key];
    const type = property.type;
    if ((type === "number" || type === "integer") && typeof value === "string" && numeric.test(value)) {
      repaired[key] = Number(value);
    } else if ((type === "number" || type === "integer") && Array.isArray(value) && value.length === 1) {
      repaired[key] = value[0];
    } else if (type === "array" && typeof value === "string") {
      try {
        const parsed: unknown = JSON.parse(value);
        if (Array.isArray(parsed)) repaired[key] = parsed;
      } catch {
        const parts = value
          .replace(/[[\]()]/g, "")
          .split(/[\s,]+/)
          .filter(Boolean);
        if (parts.every((part) => numeric.test(part))) repaired[key] = parts.map(Number);
      }
    }
    if (type === "array" && Array.isArray(repaired[key])) {
      repaired[key] = (repaired[key] as unknown[]).map((item) =>
        typeof item === "string" && numeric.test(item) ? Number(item) : item,
      );
    }
  }
  // Qwen-Agent's zoom tool names its box bbox_2d; models sometimes say bbox.
  if ("bbox_2d" in properties && !("bbox_2d" in repaired) && Array.isArray(repaired.bbox)) {
    repaired.bbox_2d = repaired.bbox;
    delete repaired.bbox;
  }
  // An omitted label only names the crop; Qwen-Agent's schema requires it, so an empty one is fair.
  if (parameters.required?.includes("label") && repaired.label === undefined) repaired.label = "";
  // With one image in the conversation there is nothing to choose.
  if ("img_idx" in properties && repaired.img_idx === undefined && imageCount === 1) repaired.img_idx = 0;
  return repaired;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 4)
    .map((issue) => `${issue.path.join(".") || "arguments"}: ${issue.message}`)
    .join("; ");
}

export function createAgentTools(options: { toolset: McpToolset; store: ImageStore; now?: () => number }): AgentTools {
  const now = options.now ?? (() => performance.now());
  const tools = options.toolset.tools.map(toModelTool);
  const byName = new Map(tools.map((tool) => [tool.spec.function.name, tool]));

  const fail = (call: { id: string; name: string }, text: string, started: number): CallOutcome => ({
    toolCallId: call.id,
    toolName: call.name,
    ok: false,
    failure: "invalid-call",
    text,
    images: [],
    durationMs: now() - started,
  });

  return {
    names: tools.map((tool) => tool.spec.function.name),
    toolSpecs(active) {
      return tools.filter((tool) => !active || active.includes(tool.spec.function.name)).map((tool) => tool.spec);
    },
    async runCall(call, images, { signal, timeoutMs }) {
      const started = now();
      const tool = byName.get(call.name);
      if (!tool) {
        return fail(
          call,
          `Error: there is no tool named "${call.name}". Available tools: ${[...byName.keys()].join(", ")}.`,
          started,
        );
      }
      const parameters = tool.spec.function.parameters as JsonSchema;
      let checked = tool.validator.safeParse(call.arguments);
      let repairedNote = "";
      if (!checked.success) {
        const repaired = repairArguments(call.arguments, parameters, images.length);
        const second = tool.validator.safeParse(repaired);
        if (!second.success) {
          return fail(
            call,
            `Error: invalid arguments for ${call.name}: ${describeIssues(checked.error)}. Call it again with arguments that match its schema.`,
            started,
          );
        }
        checked = second;
        repairedNote = " (arguments repaired)";
      }
      const args = { ...(checked.data as Record<string, unknown>) };
      let parent: ImageEntry | undefined;
      if (tool.imageArgument || typeof args.img_idx === "number") {
        const index = args.img_idx;
        if (typeof index === "number") {
          parent = images[index];
          if (!Number.isInteger(index) || !parent) {
            return fail(
              call,
              `Error: img_idx ${index} does not exist; the conversation has images 0 to ${images.length - 1}.`,
              started,
            );
          }
          if (tool.imageArgument) {
            delete args.img_idx;
            args.image = tool.listed.inProcess
              ? imageUri(parent.storeId)
              : `data:image/png;base64,${(await options.store.encode(parent.storeId, "png")).toString("base64")}`;
          }
        }
      }
      const result = await options.toolset.call(tool.listed.name, args, { signal, timeoutMs });
      const bbox = Array.isArray(args.bbox_2d) ? (args.bbox_2d as number[]) : undefined;
      const label = typeof args.label === "string" ? args.label : undefined;
      const produced = result.images.map((id) => {
        const info = options.store.get(id);
        const parentIndex =
          info.parentId === undefined
            ? parent?.index
            : (images.find((entry) => entry.storeId === info.parentId)?.index ?? parent?.index);
        return {
          storeId: id,
          width: info.width,
          height: info.height,
          origin: "tool" as const,
          tool: call.name,
          ...(parentIndex === undefined ? {} : { parentIndex }),
          ...(bbox === undefined ? {} : { bbox }),
          ...(label === undefined ? {} : { label }),
        };
      });
      const text = result.ok ? `${result.text}${repairedNote}` : `Error (${result.failure}): ${result.text}`;
      return {
        toolCallId: call.id,
        toolName: call.name,
        ok: result.ok,
        text,
        ...(result.ok ? {} : { failure: result.failure }),
        images: produced,
        ...(result.ok && result.structured !== undefined ? { structured: result.structured } : {}),
        durationMs: now() - started,
      };
    },
  };
}
