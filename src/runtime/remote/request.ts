import { SquintError } from "../../errors.js";
import { type ContentPart, contentParts, type Message, type ToolSpec } from "../../model/messages.js";
import { toolsSystemText } from "../../model/prompt.js";
import type { SamplingOptions } from "../../model/sampling.js";
import type { ToolChoice } from "../backend.js";
import type { RemotePreset } from "./presets.js";

/**
 * The body of a streaming `POST /chat/completions` for Qwen3-VL. Two departures from a plain OpenAI client,
 * both so that the server's chat template produces what Qwen3-VL was trained on (spec §5, §7):
 * - tool results that carry images become one user turn of `<tool_response>` blocks (servers reject images
 *   in `tool` messages; the template renders tool messages as exactly that user turn anyway);
 * - with `toolMode: "prompt"` the tool list is written into the system turn the way the template writes it,
 *   for servers started without a tool-call parser (vLLM refuses `tools` then).
 */

export type WireContent = string | WirePart[];
export type WirePart = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string } };

export interface WireToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export type WireMessage =
  | { role: "system" | "user"; content: WireContent }
  | { role: "assistant"; content: string; reasoning_content?: string; tool_calls?: WireToolCall[] }
  | { role: "tool"; content: string; tool_call_id: string };

export interface BuildRequestOptions {
  model: string;
  messages: Message[];
  tools?: ToolSpec[] | undefined;
  /** Sent as `tool_choice` with native tools (vLLM and SGLang honour it); prompt mode cannot ask for it. */
  toolChoice?: ToolChoice | undefined;
  toolMode: "native" | "prompt";
  thinking: boolean;
  sampling: Partial<SamplingOptions>;
  maxOutputTokens?: number | undefined;
  preset: RemotePreset;
  /** A data URL for each image reference, already resized (image-encoding.ts). */
  imageUrl: (part: Extract<ContentPart, { type: "image" }>) => Promise<string>;
  /** Fields merged last into the body, for server options Squint does not know. */
  extraBody?: Record<string, unknown> | undefined;
}

export async function buildChatRequest(options: BuildRequestOptions): Promise<Record<string, unknown>> {
  const tools = options.tools && options.tools.length > 0 ? options.tools : undefined;
  const messages = await convertMessages(options.messages, options);
  if (tools && options.toolMode === "prompt") injectTools(messages, tools);

  const body: Record<string, unknown> = {
    model: options.model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (tools && options.toolMode === "native") {
    body.tools = tools;
    const choice = options.toolChoice;
    if (choice === "required") body.tool_choice = "required";
    else if (typeof choice === "object") body.tool_choice = { type: "function", function: { name: choice.name } };
  }
  if (options.maxOutputTokens !== undefined) body.max_tokens = options.maxOutputTokens;
  Object.assign(body, samplingFields(options.sampling, options.preset));
  if (options.preset.thinkingSwitch === "chat-template-kwargs")
    body.chat_template_kwargs = { enable_thinking: options.thinking };
  if (options.preset.thinkingSwitch === "enable-thinking") body.enable_thinking = options.thinking;
  return { ...body, ...options.extraBody };
}

/** OpenAI names for our sampling options; greedy is temperature 0 everywhere. */
export function samplingFields(sampling: Partial<SamplingOptions>, preset: RemotePreset): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const greedy = sampling.doSample === false;
  if (greedy) fields.temperature = 0;
  else if (sampling.temperature !== undefined) fields.temperature = sampling.temperature;
  if (!greedy && sampling.topP !== undefined) fields.top_p = sampling.topP;
  if (sampling.presencePenalty !== undefined) fields.presence_penalty = sampling.presencePenalty;
  if (sampling.seed !== undefined) fields.seed = sampling.seed;
  const extras = new Set(preset.samplingExtras);
  if (!greedy && extras.has("top_k") && sampling.topK !== undefined)
    fields.top_k = sampling.topK > 0 ? sampling.topK : -1;
  if (!greedy && extras.has("min_p") && sampling.minP !== undefined) fields.min_p = sampling.minP;
  if (extras.has("repetition_penalty") && sampling.repetitionPenalty !== undefined) {
    fields.repetition_penalty = sampling.repetitionPenalty;
  }
  // vLLM reads top_k = -1 as "off"; DashScope wants it left out instead.
  if (fields.top_k === -1 && preset.name === "dashscope") delete fields.top_k;
  return fields;
}

async function convertMessages(messages: Message[], options: BuildRequestOptions): Promise<WireMessage[]> {
  const out: WireMessage[] = [];
  // Ids of calls the last assistant turn made, for tool messages that do not name theirs.
  let pendingCallIds: string[] = [];
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index];
    if (message.role === "system" || message.role === "user") {
      out.push({ role: message.role, content: await convertContent(message.content, options) });
    } else if (message.role === "assistant") {
      const calls = (message.toolCalls ?? []).map((call, position) => ({
        id: call.id ?? `call_${index}_${position}`,
        type: "function" as const,
        function: { name: call.name, arguments: JSON.stringify(call.arguments) },
      }));
      pendingCallIds = calls.map((call) => call.id);
      const wire: WireMessage = { role: "assistant", content: textOf(message.content) };
      if (options.preset.sendsReasoning && message.reasoning) wire.reasoning_content = message.reasoning;
      if (calls.length > 0) wire.tool_calls = calls;
      out.push(wire);
    } else {
      // A run of consecutive tool results: one user turn if any of them carries an image.
      let end = index;
      while (end + 1 < messages.length && messages[end + 1].role === "tool") end++;
      const run = messages.slice(index, end + 1) as Extract<Message, { role: "tool" }>[];
      if (run.some((result) => contentParts(result.content).some((part) => part.type !== "text"))) {
        out.push({ role: "user", content: await toolResponseTurn(run, options) });
      } else {
        for (const result of run) {
          const id = result.toolCallId ?? pendingCallIds.shift() ?? `call_${index}`;
          out.push({ role: "tool", tool_call_id: id, content: textOf(result.content) });
        }
      }
      pendingCallIds = [];
      index = end;
    }
  }
  return out;
}

/** The exact user turn the chat template makes of consecutive tool messages, as content parts. */
async function toolResponseTurn(
  run: Extract<Message, { role: "tool" }>[],
  options: BuildRequestOptions,
): Promise<WirePart[]> {
  const parts: WirePart[] = [];
  const text = (value: string) => {
    const last = parts[parts.length - 1];
    if (last?.type === "text") last.text += value;
    else parts.push({ type: "text", text: value });
  };
  for (const [position, result] of run.entries()) {
    text(`${position === 0 ? "" : "\n"}<tool_response>\n`);
    for (const part of await convertContent(result.content, options, true)) {
      if (part.type === "text") text(part.text);
      else parts.push(part);
    }
    text("\n</tool_response>");
  }
  return parts;
}

async function convertContent(content: string | ContentPart[], options: BuildRequestOptions): Promise<WireContent>;
async function convertContent(
  content: string | ContentPart[],
  options: BuildRequestOptions,
  asParts: true,
): Promise<WirePart[]>;
async function convertContent(
  content: string | ContentPart[],
  options: BuildRequestOptions,
  asParts = false,
): Promise<WireContent> {
  const parts = contentParts(content);
  if (!asParts && parts.every((part) => part.type === "text")) return parts.map((part) => part.text).join("");
  const wire: WirePart[] = [];
  for (const part of parts) {
    if (part.type === "text") wire.push({ type: "text", text: part.text });
    else if (part.type === "image") wire.push({ type: "image_url", image_url: { url: await options.imageUrl(part) } });
    else {
      throw new SquintError("IMAGE_UNSUPPORTED", "The remote backend does not send videos.", {
        hint: "Send sampled frames as images, or run the model locally for video input.",
      });
    }
  }
  return wire;
}

function textOf(content: string | ContentPart[]): string {
  return contentParts(content)
    .map((part) => (part.type === "text" ? part.text : ""))
    .join("");
}

/** `toolMode: "prompt"`: the system turn carries the tool list as the chat template would write it. */
function injectTools(messages: WireMessage[], tools: ToolSpec[]): void {
  const first = messages[0];
  if (first?.role === "system") {
    const text =
      typeof first.content === "string"
        ? first.content
        : first.content.map((part) => (part.type === "text" ? part.text : "")).join("");
    first.content = toolsSystemText(text, tools);
  } else {
    messages.unshift({ role: "system", content: toolsSystemText(undefined, tools) });
  }
}
