import { errorBody, errorBodySchema, publicError } from "../error-reply.js";
import { imageReferences } from "../chat/chat-messages.js";
import { type ChatPiece, checkChatRequest, completionId, maxTokensFor, runChat } from "../chat/chat-run.js";
import { type ChatCompletion, chatCompletionSchema, chatRequestSchema } from "../chat/chat-schema.js";
import { admitModelRequest } from "../model-admission.js";
import type { ServeApp, ServeContext } from "../serve-context.js";
import { openSse } from "../sse.js";

/**
 * POST /v1/chat/completions, OpenAI-compatible, on the server's model: `stream: true` gives
 * `chat.completion.chunk` events and `data: [DONE]` (usage in a last chunk with empty choices when
 * `stream_options.include_usage` is set, as OpenAI does); images as data URLs, http(s) URLs or upload ids;
 * `tools` / `tool_choice` with native `tool_calls`; the thinking as `reasoning_content` and `reasoning`.
 * Errors before the stream starts are HTTP errors in OpenAI's shape; an error after it started is one
 * `data: {"error": …}` event, then `[DONE]`.
 */

export function registerChatRoutes(app: ServeApp, context: ServeContext): void {
  app.post(
    "/v1/chat/completions",
    {
      schema: {
        summary: "OpenAI-compatible chat completions on the server's model (streaming, images, tools, reasoning).",
        body: chatRequestSchema,
        response: { 200: chatCompletionSchema, "4xx": errorBodySchema, "5xx": errorBodySchema },
      },
    },
    async (request, reply) => {
      const body = request.body;
      checkChatRequest(body);
      const maxTokens = maxTokensFor(body, context.limits.maxOutputTokens);
      const admitted = await admitModelRequest(context, request, imageReferences(body.messages), "chat completions");
      const id = completionId();
      const created = Math.floor(Date.now() / 1000);
      const model = body.model ?? context.model.name;
      const pieces = runChat(body, admitted, { store: context.store, maxTokens, metrics: context.metrics });

      if (!body.stream) {
        try {
          let content = "";
          let reasoning = "";
          const calls: NonNullable<ChatCompletion["choices"][number]["message"]["tool_calls"]> = [];
          let finish: Extract<ChatPiece, { kind: "finish" }> | undefined;
          for await (const piece of pieces) {
            if (piece.kind === "content") content += piece.text;
            else if (piece.kind === "reasoning") reasoning += piece.text;
            else if (piece.kind === "tool-call") {
              calls.push({
                id: piece.id,
                type: "function",
                function: { name: piece.name, arguments: piece.arguments },
              });
            } else finish = piece;
          }
          const completion: ChatCompletion = {
            id,
            object: "chat.completion",
            created,
            model,
            choices: [
              {
                index: 0,
                message: {
                  role: "assistant",
                  content: content === "" && calls.length > 0 ? null : content,
                  ...(reasoning === "" ? {} : { reasoning_content: reasoning, reasoning }),
                  ...(calls.length > 0 ? { tool_calls: calls } : {}),
                },
                finish_reason: finish!.reason,
                logprobs: null,
              },
            ],
            usage: finish!.usage,
          };
          return completion;
        } finally {
          admitted.done();
        }
      }

      const sse = openSse(reply);
      const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      });
      void (async () => {
        try {
          sse.send(chunk({ role: "assistant", content: "" }));
          for await (const piece of pieces) {
            if (piece.kind === "content") sse.send(chunk({ content: piece.text }));
            else if (piece.kind === "reasoning") {
              sse.send(chunk({ reasoning_content: piece.text, reasoning: piece.text }));
            } else if (piece.kind === "tool-call") {
              sse.send(
                chunk({
                  tool_calls: [
                    {
                      index: piece.index,
                      id: piece.id,
                      type: "function",
                      function: { name: piece.name, arguments: piece.arguments },
                    },
                  ],
                }),
              );
            } else {
              sse.send(chunk({}, piece.reason));
              if (body.stream_options?.include_usage) {
                sse.send({ id, object: "chat.completion.chunk", created, model, choices: [], usage: piece.usage });
              }
            }
          }
        } catch (error) {
          if (!request.clientGone.aborted) sse.send(errorBody(publicError(error), { openAi: true }));
        } finally {
          admitted.done();
          sse.sendRaw("[DONE]");
          sse.end();
        }
      })();
      return reply;
    },
  );
}
