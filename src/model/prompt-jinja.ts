import { Template } from "@huggingface/jinja";
import { isSquintError, SquintError } from "../errors.js";
import type { ContentPart, Message, ToolSpec } from "./messages.js";

/**
 * Renders a checkpoint's own Jinja chat template, for checkpoints whose template differs from the two the
 * native renderer reproduces. Our messages are mapped to the shape transformers passes to templates:
 * content lists of `{type, text|image|video}`, `reasoning_content`, and OpenAI-style `tool_calls`.
 */

export interface ChatTemplateOptions {
  tools?: ToolSpec[] | undefined;
  addGenerationPrompt?: boolean | undefined;
  addVisionId?: boolean | undefined;
}

type HfPart = { type: "text"; text: string } | { type: "image"; image: string } | { type: "video"; video: string[] };

export interface HfMessage {
  role: Message["role"];
  content: string | HfPart[];
  reasoning_content?: string;
  tool_calls?: { type: "function"; id?: string; function: { name: string; arguments: Record<string, unknown> } }[];
  tool_call_id?: string;
  name?: string;
}

function toHfContent(content: string | ContentPart[]): string | HfPart[] {
  if (typeof content === "string") return content;
  return content.map((part): HfPart => {
    if (part.type === "text") return { type: "text", text: part.text };
    if (part.type === "image") return { type: "image", image: part.image };
    return { type: "video", video: part.frames };
  });
}

/** Our Message as transformers' `apply_chat_template` hands it to the template. */
export function toHfMessage(message: Message): HfMessage {
  const mapped: HfMessage = { role: message.role, content: toHfContent(message.content) };
  if (message.role === "assistant") {
    if (message.reasoning !== undefined) mapped.reasoning_content = message.reasoning;
    if (message.toolCalls && message.toolCalls.length > 0) {
      mapped.tool_calls = message.toolCalls.map((call) => ({
        type: "function" as const,
        ...(call.id === undefined ? {} : { id: call.id }),
        function: { name: call.name, arguments: call.arguments },
      }));
    }
  }
  if (message.role === "tool") {
    if (message.toolCallId !== undefined) mapped.tool_call_id = message.toolCallId;
    if (message.name !== undefined) mapped.name = message.name;
  }
  return mapped;
}

const parsedTemplates = new Map<string, Template>();

function compile(source: string): Template {
  let template = parsedTemplates.get(source);
  if (!template) {
    try {
      template = new Template(source);
    } catch (error) {
      throw new SquintError("TEMPLATE_FAILED", `The chat template does not parse: ${(error as Error).message}`, {
        hint: "Use the checkpoint's chat_template unchanged, or omit it to use Squint's native Qwen3-VL renderer.",
        cause: error,
      });
    }
    // Checkpoints carry one or two templates; a handful of entries is all this cache ever holds.
    parsedTemplates.set(source, template);
  }
  return template;
}

export function renderChatTemplate(source: string, messages: Message[], options: ChatTemplateOptions): string {
  const template = compile(source);
  try {
    return template.render({
      messages: messages.map(toHfMessage),
      tools: options.tools && options.tools.length > 0 ? options.tools : undefined,
      add_generation_prompt: options.addGenerationPrompt ?? true,
      add_vision_id: options.addVisionId ?? false,
      bos_token: "",
      eos_token: "<|im_end|>",
      // raise_exception is built into @huggingface/jinja; what it throws is reported below.
    });
  } catch (error) {
    if (isSquintError(error)) throw error;
    throw new SquintError("TEMPLATE_FAILED", `The chat template failed to render: ${(error as Error).message}`, {
      hint: "Use the checkpoint's chat_template unchanged, or omit it to use Squint's native Qwen3-VL renderer.",
      cause: error,
    });
  }
}
