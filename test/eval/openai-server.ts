import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type ContentPart, type Message, type ToolSpec, toolSpecSchema } from "../../src/model/messages.js";
import type { Backend } from "../../src/runtime/backend.js";
import { ImageStore } from "../../src/tools/store/image-store.js";

/**
 * A minimal OpenAI-compatible `/v1/chat/completions` on 127.0.0.1 that runs a real Backend (in these tests,
 * the local engine on a tiny random checkpoint): the wire messages become Squint messages again (data-URL
 * images decoded into a store), the backend generates, and its events stream back as vLLM streams them —
 * `delta.reasoning_content`, `delta.content`, `delta.tool_calls`, a usage chunk, `[DONE]`. Only what the
 * remote backend sends is understood; anything else is a 400.
 */

interface WirePart {
  type: string;
  text?: string;
  image_url?: { url: string };
}

interface WireMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | WirePart[] | null;
  reasoning_content?: string;
  tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

interface WireBody {
  messages: WireMessage[];
  tools?: unknown[];
  max_tokens?: number;
  temperature?: number;
  seed?: number;
  chat_template_kwargs?: { enable_thinking?: boolean };
}

export interface TinyServer {
  baseUrl: string;
  requests: number;
  close(): Promise<void>;
}

async function toParts(content: WireMessage["content"], store: ImageStore): Promise<string | ContentPart[]> {
  if (content === null) return "";
  if (typeof content === "string") return content;
  const parts: ContentPart[] = [];
  for (const part of content) {
    if (part.type === "text") parts.push({ type: "text", text: part.text ?? "" });
    else if (part.type === "image_url" && part.image_url?.url.startsWith("data:")) {
      const bytes = Buffer.from(part.image_url.url.slice(part.image_url.url.indexOf(",") + 1), "base64");
      parts.push({ type: "image", image: (await store.ingest(bytes)).id });
    } else throw new Error(`unsupported content part ${part.type}`);
  }
  return parts;
}

async function toMessages(wire: WireMessage[], store: ImageStore): Promise<Message[]> {
  const out: Message[] = [];
  for (const message of wire) {
    const content = await toParts(message.content, store);
    if (message.role === "assistant") {
      out.push({
        role: "assistant",
        content,
        ...(message.reasoning_content ? { reasoning: message.reasoning_content } : {}),
        ...(message.tool_calls
          ? {
              toolCalls: message.tool_calls.map((call) => ({
                id: call.id,
                name: call.function.name,
                arguments: JSON.parse(call.function.arguments) as Record<string, unknown>,
              })),
            }
          : {}),
      });
    } else if (message.role === "tool") {
      out.push({ role: "tool", content, ...(message.tool_call_id ? { toolCallId: message.tool_call_id } : {}) });
    } else out.push({ role: message.role, content });
  }
  return out;
}

export async function startTinyServer(backend: Backend, model: string): Promise<TinyServer> {
  const state = { requests: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      if (request.method !== "POST" || !request.url?.endsWith("/chat/completions")) {
        response.writeHead(404).end();
        return;
      }
      state.requests++;
      const store = new ImageStore();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as WireBody;
        const messages = await toMessages(body.messages, store);
        const tools: ToolSpec[] | undefined = body.tools?.map((tool) => toolSpecSchema.parse(tool));
        response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        const send = (value: unknown) => response.write(`data: ${JSON.stringify(value)}\n\n`);
        const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
          send({
            id: "tiny",
            object: "chat.completion.chunk",
            model,
            choices: [{ index: 0, delta, finish_reason: finish }],
          });
        let calls = 0;
        for await (const event of backend.generate({
          messages,
          ...(tools && tools.length > 0 ? { tools } : {}),
          thinking: body.chat_template_kwargs?.enable_thinking ?? backend.info.thinking,
          ...(body.max_tokens === undefined ? {} : { maxNewTokens: body.max_tokens }),
          sampling: {
            ...(body.temperature === undefined ? {} : { temperature: body.temperature }),
            ...(body.seed === undefined ? {} : { seed: body.seed }),
          },
          resolveImage: async (reference) => store.pixels(reference),
        })) {
          if (event.type === "reasoning-delta") chunk({ reasoning_content: event.text });
          else if (event.type === "text-delta") chunk({ content: event.text });
          else if (event.type === "tool-call") {
            chunk({
              tool_calls: [
                {
                  index: calls,
                  id: `call_${calls}`,
                  type: "function",
                  function: { name: event.call.name, arguments: JSON.stringify(event.call.arguments) },
                },
              ],
            });
            calls++;
          } else if (event.type === "usage") {
            send({
              id: "tiny",
              object: "chat.completion.chunk",
              model,
              choices: [],
              usage: {
                prompt_tokens: event.promptTokens,
                completion_tokens: event.completionTokens,
                total_tokens: event.promptTokens + event.completionTokens,
              },
            });
          } else if (event.type === "finish") {
            chunk({}, event.reason === "tool-calls" ? "tool_calls" : event.reason === "length" ? "length" : "stop");
          }
        }
        response.end("data: [DONE]\n\n");
      } catch (error) {
        if (!response.headersSent) response.writeHead(400, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { message: String(error), type: "invalid_request_error" } }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
