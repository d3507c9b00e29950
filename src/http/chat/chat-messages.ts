import { SquintError } from "../../errors.js";
import type { ContentPart, Message, ToolSpec } from "../../model/messages.js";
import type { ToolChoice } from "../../runtime/backend.js";
import type { ChatMessage, ChatRequest } from "./chat-schema.js";

/**
 * OpenAI chat messages → Squint's conversation. Images are collected first (`imageReferences`), so the
 * route can count them against the limit and queue the request before anything is fetched or decoded;
 * `toMessages` then builds the conversation with each image part naming its image-store id.
 */

type ImagePartIn = Extract<
  Exclude<Extract<ChatMessage, { role: "user" }>["content"], string>[number],
  { type: "image_url" }
>;

function imageUrlOf(part: ImagePartIn): string {
  return typeof part.image_url === "string" ? part.image_url : part.image_url.url;
}

/** Every image the conversation names, in order. */
export function imageReferences(messages: readonly ChatMessage[]): string[] {
  const references: string[] = [];
  for (const message of messages) {
    if (message.role !== "user" || typeof message.content === "string") continue;
    for (const part of message.content) if (part.type === "image_url") references.push(imageUrlOf(part));
  }
  return references;
}

function textOf(content: string | Array<{ text: string }> | null | undefined): string {
  if (content === null || content === undefined) return "";
  return typeof content === "string" ? content : content.map((part) => part.text).join("");
}

function parseArguments(raw: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = raw.trim() === "" ? {} : JSON.parse(raw);
  } catch {
    throw new SquintError("INVALID_ARGUMENT", `The arguments of the earlier call to ${name} are not valid JSON.`, {
      hint: "Send tool_calls[].function.arguments as a JSON object in a string, as the model returned it.",
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SquintError("INVALID_ARGUMENT", `The arguments of the earlier call to ${name} are not a JSON object.`, {
      hint: "Send tool_calls[].function.arguments as a JSON object in a string.",
    });
  }
  return value as Record<string, unknown>;
}

/** The conversation, with the n-th image named by `storeIds[n]`. */
export function toMessages(messages: readonly ChatMessage[], storeIds: readonly string[]): Message[] {
  let nextImage = 0;
  return messages.map((message): Message => {
    switch (message.role) {
      case "system":
      case "developer":
        return { role: "system", content: textOf(message.content) };
      case "user": {
        if (typeof message.content === "string") return { role: "user", content: message.content };
        const parts = message.content.map(
          (part): ContentPart =>
            part.type === "text" ? { type: "text", text: part.text } : { type: "image", image: storeIds[nextImage++]! },
        );
        return { role: "user", content: parts };
      }
      case "assistant": {
        const reasoning = message.reasoning_content ?? message.reasoning ?? undefined;
        return {
          role: "assistant",
          content: textOf(message.content),
          ...(reasoning ? { reasoning } : {}),
          ...(message.tool_calls && message.tool_calls.length > 0
            ? {
                toolCalls: message.tool_calls.map((call) => ({
                  id: call.id,
                  name: call.function.name,
                  arguments: parseArguments(call.function.arguments, call.function.name),
                })),
              }
            : {}),
        };
      }
      default:
        return {
          role: "tool",
          content: textOf(message.content),
          ...(message.tool_call_id ? { toolCallId: message.tool_call_id } : {}),
        };
    }
  });
}

/** The tools the model sees, after tool_choice: none → no tools, a named function → only that one. */
export function toolsFor(request: ChatRequest): ToolSpec[] | undefined {
  const tools = (request.tools ?? []).map(
    (tool): ToolSpec => ({
      type: "function",
      function: {
        name: tool.function.name,
        description: tool.function.description ?? "",
        parameters: tool.function.parameters ?? { type: "object", properties: {} },
      },
    }),
  );
  const choice = request.tool_choice;
  if (choice === "none" || tools.length === 0) {
    if (typeof choice === "object" || choice === "required") {
      throw new SquintError("INVALID_ARGUMENT", "tool_choice names a tool, but the request has no tools.", {
        hint: "Send the tools in `tools`, or drop tool_choice.",
      });
    }
    return undefined;
  }
  if (typeof choice === "object") {
    const named = tools.filter((tool) => tool.function.name === choice.function.name);
    if (named.length === 0) {
      throw new SquintError("INVALID_ARGUMENT", `tool_choice names ${choice.function.name}, which is not in tools.`, {
        hint: "Name one of the functions in `tools`.",
      });
    }
    return named;
  }
  return tools;
}

/**
 * What the backend must honour beyond the tool list: "required" and a named function make the reply a call
 * (the local engine forces the call's opening; a remote server is sent tool_choice). None without tools.
 */
export function toolChoiceFor(request: ChatRequest): Exclude<ToolChoice, "auto"> | undefined {
  const choice = request.tool_choice;
  if (!request.tools?.length || choice === undefined || choice === "none" || choice === "auto") return undefined;
  return choice === "required" ? "required" : { name: choice.function.name };
}
