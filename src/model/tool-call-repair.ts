import { z } from "zod";
import { LenientJsonError, parseLenientJson, parseLenientJsonPrefix } from "./lenient-json.js";
import type { ToolCall } from "./messages.js";

/**
 * Reads the body of one `<tool_call>…</tool_call>` block (Hermes format, spec §5): a JSON object
 * `{"name": …, "arguments": {…}}`. Small models get the JSON slightly wrong often enough that strictness
 * would stall the loop, so common slips are repaired (and listed); what cannot be repaired comes back with
 * a message meant for the model, which the agent sends back so it can try again.
 */

export type ToolCallParse =
  | { ok: true; call: Omit<ToolCall, "id">; repairs: string[] }
  | { ok: false; raw: string; message: string };

const FORMAT_HINT =
  'Write exactly one JSON object {"name": "<tool>", "arguments": {…}} between <tool_call> and </tool_call>.';

const callShape = z.object({
  name: z.string().trim().min(1),
  arguments: z.unknown().optional(),
  parameters: z.unknown().optional(),
});

export function parseToolCallBlock(raw: string): ToolCallParse {
  let body = raw.trim();
  const fence = /^```[a-zA-Z]*\s*\n?([\s\S]*?)\n?```$/.exec(body);
  const repairs: string[] = [];
  if (fence) {
    body = fence[1].trim();
    repairs.push("removed a code fence");
  }
  if (body === "") return { ok: false, raw, message: `The <tool_call> block is empty. ${FORMAT_HINT}` };

  let value: unknown;
  try {
    const parsed = parseLenientJson(body);
    value = parsed.value;
    repairs.push(...parsed.repairs);
  } catch (error) {
    const rescued = rescueFirstObject(body);
    if (!rescued)
      return {
        ok: false,
        raw,
        message: `The <tool_call> block is not valid JSON (${describe(error)}). ${FORMAT_HINT}`,
      };
    value = rescued.value;
    repairs.push(...rescued.repairs, "ignored text after the JSON object");
  }

  // OpenAI-style {"type": "function", "function": {...}} or {"function": {...}} wrappers.
  if (isRecord(value) && isRecord(value.function) && value.name === undefined) {
    value = value.function;
    repairs.push("unwrapped a 'function' object");
  }
  const shape = callShape.safeParse(value);
  if (!shape.success) {
    return { ok: false, raw, message: `The <tool_call> JSON has no "name" string. ${FORMAT_HINT}` };
  }
  let args = shape.data.arguments;
  if (args === undefined && shape.data.parameters !== undefined) {
    args = shape.data.parameters;
    repairs.push('read "parameters" as "arguments"');
  }
  if (args === undefined || args === null) {
    args = {};
    if (shape.data.arguments === null) repairs.push("read null arguments as {}");
  }
  if (typeof args === "string") {
    // Some models (and OpenAI's own wire format) give the arguments as a JSON string.
    if (args.trim() === "") {
      args = {};
    } else {
      try {
        const inner = parseLenientJson(args);
        args = inner.value;
        repairs.push("decoded arguments given as a JSON string", ...inner.repairs);
      } catch (error) {
        return {
          ok: false,
          raw,
          message: `The "arguments" string of ${shape.data.name} is not valid JSON (${describe(error)}). ${FORMAT_HINT}`,
        };
      }
    }
  }
  if (!isRecord(args)) {
    return { ok: false, raw, message: `The "arguments" of ${shape.data.name} must be a JSON object. ${FORMAT_HINT}` };
  }
  return { ok: true, call: { name: shape.data.name, arguments: args }, repairs };
}

/** When a good object is followed by junk (an extra brace, a sentence), keep the object. */
function rescueFirstObject(body: string): { value: unknown; repairs: string[] } | undefined {
  if (!body.startsWith("{")) return undefined;
  try {
    const parsed = parseLenientJsonPrefix(body);
    return isRecord(parsed.value) ? { value: parsed.value, repairs: parsed.repairs } : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(error: unknown): string {
  if (error instanceof LenientJsonError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
