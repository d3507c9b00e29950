import { SquintError } from "../errors.js";
import type { ContentPart, Message, ToolSpec } from "./messages.js";
import { renderChatTemplate } from "./prompt-jinja.js";
import { pythonJsonDumps } from "./prompt-json.js";

/**
 * The Qwen3-VL prompt, rendered natively: byte for byte what the checkpoints' own Jinja chat templates
 * (Thinking and Instruct editions, spec §5) produce, quirks included, without a template engine in the hot
 * path. Given a `chatTemplate`, the checkpoint's template is rendered instead (prompt-jinja.ts).
 */

export interface RenderPromptOptions {
  tools?: ToolSpec[] | undefined;
  /** Thinking edition: `<think>` handling of history and a generation prompt that pre-opens `<think>\n`. */
  thinking: boolean;
  /** End with the assistant header so the model answers next. Default true. */
  addGenerationPrompt?: boolean | undefined;
  /** Prefix each image/video with `Picture N: ` / `Video N: `. Default false. */
  addVisionId?: boolean | undefined;
  /** Render this Jinja template (the checkpoint's own) instead of the native renderer. */
  chatTemplate?: string | undefined;
}

export const IMAGE_PLACEHOLDER = "<|vision_start|><|image_pad|><|vision_end|>";
export const VIDEO_PLACEHOLDER = "<|vision_start|><|video_pad|><|vision_end|>";

const TOOLS_HEADER =
  "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
  "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
const TOOLS_FOOTER =
  "\n</tools>\n\nFor each function call, return a json object with function name and arguments within " +
  '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n' +
  "</tool_call>";

export function renderPrompt(messages: Message[], options: RenderPromptOptions): string {
  if (messages.length === 0) {
    throw new SquintError("INVALID_ARGUMENT", "Cannot render a prompt for an empty conversation.", {
      hint: "Give at least one message (usually a user turn).",
    });
  }
  if (options.chatTemplate !== undefined) return renderChatTemplate(options.chatTemplate, messages, options);
  return options.thinking ? renderThinking(messages, options) : renderInstruct(messages, options);
}

/**
 * The system message's text with the tool list folded in, as the templates write it (without the turn's
 * markers). Exported for servers that are sent the tool list as text rather than as `tools`.
 */
export function toolsSystemText(systemText: string | undefined, tools: ToolSpec[]): string {
  const prefix = systemText === undefined ? "" : `${systemText}\n\n`;
  const list = tools.map((tool) => `\n${pythonJsonDumps(tool)}`).join("");
  return `${prefix}${TOOLS_HEADER}${list}${TOOLS_FOOTER}`;
}

/** The system turn, with the tool list folded in when there are tools. */
function systemBlock(systemText: string | undefined, tools: ToolSpec[] | undefined): string {
  if (tools && tools.length > 0) return `<|im_start|>system\n${toolsSystemText(systemText, tools)}<|im_end|>\n`;
  return systemText === undefined ? "" : `<|im_start|>system\n${systemText}<|im_end|>\n`;
}

/** Running `Picture N` / `Video N` numbers: the templates count across the whole conversation. */
interface VisionCounter {
  images: number;
  videos: number;
}

/** One message's content as the templates print it (`render_content` in the Thinking template). */
function renderParts(
  parts: string | ContentPart[],
  counter: VisionCounter,
  count: boolean,
  addVisionId: boolean,
): string {
  if (typeof parts === "string") return parts;
  let out = "";
  for (const part of parts) {
    if (part.type === "image") {
      if (count) counter.images++;
      if (addVisionId) out += `Picture ${counter.images}: `;
      out += IMAGE_PLACEHOLDER;
    } else if (part.type === "video") {
      if (count) counter.videos++;
      if (addVisionId) out += `Video ${counter.videos}: `;
      out += VIDEO_PLACEHOLDER;
    } else {
      out += part.text;
    }
  }
  return out;
}

function textOnly(content: string | ContentPart[]): string {
  if (typeof content === "string") return content;
  return content.map((part) => (part.type === "text" ? part.text : "")).join("");
}

function toolCallBlocks(message: Message, hasContent: boolean): string {
  if (message.role !== "assistant" || !message.toolCalls) return "";
  return message.toolCalls
    .map((call, index) => {
      const separator = index > 0 || hasContent ? "\n" : "";
      // The template writes the name raw (not JSON-escaped) and the arguments through tojson.
      return `${separator}<tool_call>\n{"name": "${call.name}", "arguments": ${pythonJsonDumps(call.arguments)}}\n</tool_call>`;
    })
    .join("");
}

/** Consecutive tool messages share one user turn of `<tool_response>` blocks. */
function toolResponse(messages: Message[], index: number, content: string): string {
  const opens = index === 0 || messages[index - 1].role !== "tool";
  const closes = index === messages.length - 1 || messages[index + 1].role !== "tool";
  return `${opens ? "<|im_start|>user" : ""}\n<tool_response>\n${content}\n</tool_response>${closes ? "<|im_end|>\n" : ""}`;
}

function renderThinking(messages: Message[], options: RenderPromptOptions): string {
  const addVisionId = options.addVisionId ?? false;
  const counter: VisionCounter = { images: 0, videos: 0 };
  const first = messages[0];
  // The top system block renders without counting; the main loop below renders (and counts) it again silently.
  const systemText = first.role === "system" ? renderParts(first.content, counter, false, addVisionId) : undefined;
  let out = systemBlock(systemText, options.tools);

  // The last real user query: assistant turns after it are the current tool loop and keep their reasoning.
  let lastQueryIndex = messages.length - 1;
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message.role !== "user") continue;
    const content = renderParts(message.content, counter, false, addVisionId);
    if (!(content.startsWith("<tool_response>") && content.endsWith("</tool_response>"))) {
      lastQueryIndex = index;
      break;
    }
  }

  messages.forEach((message, index) => {
    let content = renderParts(message.content, counter, true, addVisionId);
    const isLast = index === messages.length - 1;
    if (message.role === "user" || (message.role === "system" && index > 0)) {
      out += `<|im_start|>${message.role}\n${content}<|im_end|>\n`;
    } else if (message.role === "assistant") {
      let reasoning = "";
      if (message.reasoning !== undefined) {
        reasoning = message.reasoning;
      } else if (content.includes("</think>")) {
        const beforeEnd = content.split("</think>")[0];
        reasoning = stripStart(lastOf(stripEnd(beforeEnd, "\n").split("<think>")), "\n");
        content = stripStart(lastOf(content.split("</think>")), "\n");
      }
      if (index > lastQueryIndex && (isLast || reasoning !== "")) {
        out += `<|im_start|>assistant\n<think>\n${strip(reasoning, "\n")}\n</think>\n\n${stripStart(content, "\n")}`;
      } else {
        out += `<|im_start|>assistant\n${content}`;
      }
      out += `${toolCallBlocks(message, content !== "")}<|im_end|>\n`;
    } else if (message.role === "tool") {
      out += toolResponse(messages, index, content);
    }
  });
  if (options.addGenerationPrompt ?? true) out += "<|im_start|>assistant\n<think>\n";
  return out;
}

function renderInstruct(messages: Message[], options: RenderPromptOptions): string {
  const addVisionId = options.addVisionId ?? false;
  const counter: VisionCounter = { images: 0, videos: 0 };
  const first = messages[0];
  // The Instruct template prints only the text of system messages, and only of the first one.
  let out = systemBlock(first.role === "system" ? textOnly(first.content) : undefined, options.tools);
  messages.forEach((message, index) => {
    if (message.role === "user") {
      out += `<|im_start|>user\n${renderParts(message.content, counter, true, addVisionId)}<|im_end|>\n`;
    } else if (message.role === "assistant") {
      // Jinja truthiness of the raw content decides the newline before the first call (a list of images counts).
      const hasContent = message.content.length > 0;
      out += `<|im_start|>assistant\n${textOnly(message.content)}${toolCallBlocks(message, hasContent)}<|im_end|>\n`;
    } else if (message.role === "tool") {
      out += toolResponse(messages, index, renderParts(message.content, counter, true, addVisionId));
    }
  });
  if (options.addGenerationPrompt ?? true) out += "<|im_start|>assistant\n";
  return out;
}

function lastOf(parts: string[]): string {
  return parts[parts.length - 1];
}

/** Python `str.lstrip(chars)`. */
function stripStart(text: string, chars: string): string {
  let start = 0;
  while (start < text.length && chars.includes(text[start])) start++;
  return text.slice(start);
}

/** Python `str.rstrip(chars)`. */
function stripEnd(text: string, chars: string): string {
  let end = text.length;
  while (end > 0 && chars.includes(text[end - 1])) end--;
  return text.slice(0, end);
}

function strip(text: string, chars: string): string {
  return stripEnd(stripStart(text, chars), chars);
}
