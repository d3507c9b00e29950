import { SquintError, toSquintError } from "../../errors.js";
import { resolveSampling, Sampler } from "../../model/sampling.js";
import { ReplyParser } from "../../model/reply.js";
import type { Backend, BackendEvent, BackendInfo, GenerateRequest } from "../backend.js";
import type { GenerationEngine } from "./engine.js";
import { preparePrompt } from "./prompt-inputs.js";
import { ToolCallForcing } from "./tool-call-forcing.js";

/**
 * The Backend the agent talks to, over a LocalEngine: render + tokenize the conversation, prefill (the
 * engine reuses its KV cache for the common prefix with the previous call), then sample token by token,
 * streaming reasoning/text/tool-call events as the ReplyParser decides them. One generation at a time: a
 * second call waits for the first to finish (the KV cache is one conversation's).
 */

/** Spec §8: the model cards' max new tokens (Thinking 40960, Instruct 16384 for VL tasks). */
export function defaultMaxNewTokens(thinking: boolean): number {
  return thinking ? 40960 : 16384;
}

export class LocalBackend implements Backend {
  readonly info: BackendInfo;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly engine: GenerationEngine,
    info: BackendInfo,
  ) {
    this.info = info;
  }

  generate(request: GenerateRequest): AsyncIterable<BackendEvent> {
    return this.run(request);
  }

  private async *run(request: GenerateRequest): AsyncGenerator<BackendEvent> {
    if (this.closed) {
      throw new SquintError("BACKEND_FAILED", "This local backend was closed.", {
        hint: "Create a new one with createLocalBackend().",
      });
    }
    let release!: () => void;
    const previous = this.queue;
    this.queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      yield* this.generateLocked(request);
    } finally {
      release();
    }
  }

  private async *generateLocked(request: GenerateRequest): AsyncGenerator<BackendEvent> {
    const { engine } = this;
    const { tokenizer, preprocessor } = engine.files;
    const signal = request.signal;
    const thinking = request.thinking ?? this.info.thinking;
    const sampling = resolveSampling(thinking, request.sampling);
    const maxOutputTokens = request.maxOutputTokens ?? defaultMaxNewTokens(thinking);
    if (!Number.isInteger(maxOutputTokens) || maxOutputTokens <= 0) {
      throw new SquintError("INVALID_ARGUMENT", `maxOutputTokens must be a positive integer, got ${maxOutputTokens}.`, {
        hint: "Pass a whole number of tokens, e.g. 1024.",
      });
    }
    if (signal?.aborted) {
      yield { type: "finish", reason: "aborted" };
      return;
    }

    let inputTokens = 0;
    let cachedPromptTokens = 0;
    const generated: number[] = [];
    const usage = (): BackendEvent => ({
      type: "usage",
      inputTokens,
      outputTokens: generated.length,
      cachedPromptTokens,
    });
    const parser = new ReplyParser({ thinking });
    const decoder = tokenizer.streamDecoder({ skipSpecialTokens: true });
    const stops = new Set(tokenizer.stopTokenIds);
    let finish: "stop" | "length" | "aborted" = "length";
    try {
      const prompt = await preparePrompt({
        messages: request.messages,
        tools: request.tools,
        thinking,
        tokenizer,
        preprocessor,
        resolveImage: request.resolveImage,
        signal,
      });
      inputTokens = prompt.ids.length;
      const prefill = await engine.prefill(prompt.ids, prompt.visuals, signal);
      cachedPromptTokens = prefill.reusedTokens;
      const sampler = new Sampler(sampling);
      // The prompt only matters to the repetition penalty; skip the work when it is off.
      const history = sampling.repetitionPenalty === 1 ? { generated } : { generated, prompt: prompt.ids };
      let logits = prefill.logits;
      const forcing = new ToolCallForcing(request.tools?.length ? request.toolChoice : undefined, (text) =>
        tokenizer.encode(text),
      );
      // Tokens written by the engine instead of sampled (tool-call-forcing.ts), in order.
      const forced = forcing.atStart(thinking);
      for (;;) {
        const token = forced.shift() ?? sampler.sample(logits, history);
        if (stops.has(token)) {
          if (forcing.pending) {
            forced.push(...forcing.insteadOfStop(parser.inReasoning));
            continue;
          }
          finish = "stop";
          break;
        }
        generated.push(token);
        const text = decoder.push(token);
        if (text !== "") {
          const reasoningBefore = parser.inReasoning;
          yield* parser.feed(text);
          if (reasoningBefore && !parser.inReasoning && forcing.pending) forced.push(...forcing.afterThinking());
        }
        if (generated.length >= maxOutputTokens || !engine.fits(1)) break;
        if (signal?.aborted) {
          finish = "aborted";
          break;
        }
        logits = await engine.step(token);
      }
    } catch (error) {
      const squint = toSquintError(error, "BACKEND_FAILED");
      if (squint.code !== "ABORTED") throw squint;
      finish = "aborted";
    }
    const tail = decoder.flush();
    if (tail !== "") yield* parser.feed(tail);
    yield* parser.end();
    yield usage();
    const calls = parser.result().toolCalls.length;
    yield { type: "finish", reason: finish === "stop" && calls > 0 ? "tool-calls" : finish };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.engine.close();
  }
}
