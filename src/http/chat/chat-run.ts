import { randomUUID } from "node:crypto";
import { SquintError, toSquintError } from "../../errors.js";
import type { ToolCall } from "../../model/messages.js";
import type { SamplingOptions } from "../../model/sampling.js";
import { visualTokenCount } from "../../model/vision.js";
import type { FinishReason, ToolChoice } from "../../runtime/backend.js";
import type { ImageStore } from "../../tools/store/image-store.js";
import type { ServeMetrics } from "../metrics.js";
import type { AdmittedModelRequest } from "../model-admission.js";
import { toMessages, toolChoiceFor, toolsFor } from "./chat-messages.js";
import type { ChatRequest, ChatUsage } from "./chat-schema.js";
import { StopFilter } from "./stop-sequences.js";

/**
 * One chat completion on the server's backend, as a stream of OpenAI-shaped pieces: reasoning (sent as both
 * `reasoning_content` and `reasoning`), content (stop strings cut), native tool calls, then the finish and
 * the usage. Both the streaming and the plain response are made from these pieces.
 */

export type ChatPiece =
  | { kind: "reasoning"; text: string }
  | { kind: "content"; text: string }
  | { kind: "tool-call"; index: number; id: string; name: string; arguments: string }
  | { kind: "finish"; reason: "stop" | "length" | "tool_calls"; usage: ChatUsage };

export function completionId(): string {
  return `chatcmpl-${randomUUID().replaceAll("-", "")}`;
}

/** OpenAI sampling fields → Squint's; temperature 0 is greedy. */
export function samplingFrom(request: ChatRequest): Partial<SamplingOptions> {
  const sampling: Partial<SamplingOptions> = {};
  if (request.temperature === 0) sampling.doSample = false;
  else if (typeof request.temperature === "number") sampling.temperature = request.temperature;
  if (typeof request.top_p === "number") sampling.topP = request.top_p;
  if (typeof request.top_k === "number") sampling.topK = Math.max(0, request.top_k);
  if (typeof request.min_p === "number") sampling.minP = request.min_p;
  if (typeof request.presence_penalty === "number") sampling.presencePenalty = request.presence_penalty;
  if (typeof request.repetition_penalty === "number") sampling.repetitionPenalty = request.repetition_penalty;
  if (typeof request.seed === "number") sampling.seed = request.seed;
  return sampling;
}

export function maxTokensFor(request: ChatRequest, limit: number): number {
  const asked = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  if (asked !== undefined && asked > limit) {
    throw new SquintError("INVALID_ARGUMENT", `max_tokens ${asked} is over this server's limit of ${limit}.`, {
      hint: `Ask for at most ${limit} tokens, or start the server with a larger --max-output-tokens.`,
    });
  }
  return asked ?? limit;
}

/** Checks what cannot be honoured, before the request is queued. */
export function checkChatRequest(request: ChatRequest): void {
  if (typeof request.n === "number" && request.n !== 1) {
    throw new SquintError("INVALID_ARGUMENT", "n must be 1: this server makes one choice per request.", {
      hint: "Send n: 1 (or leave it out) and repeat the request for more samples.",
    });
  }
  if (request.logprobs === true) {
    throw new SquintError("INVALID_ARGUMENT", "logprobs are not supported.", { hint: "Leave logprobs out." });
  }
  toolsFor(request);
}

function callArguments(call: ToolCall): string {
  return JSON.stringify(call.arguments);
}

/** A reply without the call tool_choice required: a coded error, with what the model wrote instead. */
function noToolCall(choice: Exclude<ToolChoice, "auto">, finish: FinishReason, missed: readonly string[]): SquintError {
  const wanted = choice === "required" ? "a tool call" : `a call to ${choice.name}`;
  const wrote = missed.length > 0 ? ` It wrote ${missed.join("; ")}.` : "";
  const cutOff = finish === "length";
  return new SquintError(
    "BACKEND_FAILED",
    `tool_choice asked for ${wanted}, but the model's reply has none that parses${cutOff ? " (it ran out of tokens)" : ""}.${wrote}`,
    {
      hint: cutOff
        ? "Raise max_tokens (a thinking model spends tokens before it calls), or retry."
        : 'Retry (sampled replies differ), or send tool_choice "auto" and read the reply.',
      details: { toolChoice: choice === "required" ? "required" : choice.name, finishReason: finish },
    },
  );
}

export async function* runChat(
  request: ChatRequest,
  admitted: AdmittedModelRequest,
  options: { store: ImageStore; maxTokens: number; metrics: ServeMetrics },
): AsyncGenerator<ChatPiece> {
  const { backend, images, signal } = admitted;
  const { metrics } = options;
  const tools = toolsFor(request);
  const toolChoice = toolChoiceFor(request);
  // Under a required choice only a parsed call to an offered function counts; anything else the model wrote
  // is kept for the error that answers a reply without one.
  const offered = new Set(tools?.map((tool) => tool.function.name));
  const missed: string[] = [];
  // Text is held back until the call is there: a reply without it is an error, not an answer.
  let held = "";
  const messages = toMessages(
    request.messages,
    images.map((image) => image.id),
  );
  const stop = request.stop === null || request.stop === undefined ? [] : [request.stop].flat();
  const filter = new StopFilter(stop);
  // The stop filter ends the generation early through its own controller, which also follows the request's
  // signal ("stopped" stays apart from "client gone"; one listener is cheaper than AbortSignal.any on Node 20).
  const stopper = new AbortController();
  const follow = () => stopper.abort(signal.reason);
  if (signal.aborted) follow();
  else signal.addEventListener("abort", follow, { once: true });
  const generationSignal = stopper.signal;
  const thinking = request.chat_template_kwargs?.enable_thinking ?? backend.info.thinking;
  const visualTokens = images.reduce(
    (sum, image) =>
      sum +
      visualTokenCount(image.width, image.height, {
        minPixels: backend.info.minPixels,
        maxPixels: backend.info.maxPixels,
      }),
    0,
  );
  metrics.visualTokens.observe(visualTokens);

  const started = performance.now();
  let last = started;
  let first = true;
  const tick = () => {
    const now = performance.now();
    if (first) metrics.timeToFirstToken.observe((now - started) / 1000);
    else metrics.interTokenLatency.observe((now - last) / 1000);
    first = false;
    last = now;
  };
  let usage = { inputTokens: 0, outputTokens: 0, cachedPromptTokens: 0 };
  let finish: FinishReason = "stop";
  let calls = 0;
  try {
    for await (const event of backend.generate({
      messages,
      ...(tools ? { tools } : {}),
      ...(toolChoice ? { toolChoice } : {}),
      thinking,
      sampling: samplingFrom(request),
      maxOutputTokens: options.maxTokens,
      signal: generationSignal,
      resolveImage: async (reference) => options.store.pixels(reference),
    })) {
      switch (event.type) {
        case "reasoning-delta":
          tick();
          yield { kind: "reasoning", text: event.text };
          break;
        case "text-delta": {
          tick();
          const text = filter.push(event.text);
          if (toolChoice) held += text;
          else if (text !== "") yield { kind: "content", text };
          if (filter.stopped && !stopper.signal.aborted)
            stopper.abort(new SquintError("ABORTED", "A stop string ended the answer."));
          break;
        }
        case "tool-call":
          if (filter.stopped) break;
          tick();
          if (toolChoice && !offered.has(event.call.name)) {
            missed.push(`a call to ${event.call.name}, which is not offered`);
            break;
          }
          metrics.toolCalls.inc({ tool: event.call.name });
          yield {
            kind: "tool-call",
            index: calls++,
            id: event.call.id ?? `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`,
            name: event.call.name,
            arguments: callArguments(event.call),
          };
          break;
        case "tool-call-error":
          // What the model wrote is not lost: the unparsable block is returned as text (or, when a call was
          // required, in the error that says there was none).
          if (toolChoice) missed.push(`<tool_call>${event.raw.slice(0, 200)}`);
          else if (!filter.stopped) {
            const text = filter.push(event.raw);
            if (text !== "") yield { kind: "content", text };
          }
          break;
        case "usage":
          usage = {
            inputTokens: event.inputTokens,
            outputTokens: event.outputTokens,
            cachedPromptTokens: event.cachedPromptTokens ?? 0,
          };
          break;
        case "finish":
          finish = event.reason;
          break;
      }
    }
  } catch (error) {
    throw signal.aborted ? toSquintError(signal.reason) : toSquintError(error, "BACKEND_FAILED");
  } finally {
    signal.removeEventListener("abort", follow);
  }
  if (signal.aborted) throw toSquintError(signal.reason);
  const tail = filter.flush();
  if (finish === "error") {
    throw new SquintError("BACKEND_FAILED", "The model stopped with an error.", { hint: "Retry the request." });
  }
  if (toolChoice) {
    held += tail;
    if (calls === 0) {
      if (held.trim() !== "") missed.unshift(`the text "${held.trim().slice(0, 200)}"`);
      throw noToolCall(toolChoice, finish, missed);
    }
    if (held !== "") yield { kind: "content", text: held };
  } else if (tail !== "") yield { kind: "content", text: tail };
  const reason = filter.stopped ? "stop" : calls > 0 ? "tool_calls" : finish === "length" ? "length" : "stop";
  metrics.promptTokens.observe(usage.inputTokens);
  metrics.generationTokens.observe(usage.outputTokens);
  metrics.promptTokensTotal.inc(usage.inputTokens);
  metrics.generationTokensTotal.inc(usage.outputTokens);
  metrics.requestSuccess.inc({ finished_reason: reason });
  yield {
    kind: "finish",
    reason,
    usage: {
      prompt_tokens: usage.inputTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.inputTokens + usage.outputTokens,
      prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens },
    },
  };
}
