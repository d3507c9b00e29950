import { SquintError } from "../../src/errors.js";
import { contentParts } from "../../src/model/messages.js";
import { renderPrompt } from "../../src/model/prompt.js";
import { ReplyParser } from "../../src/model/reply.js";
import type { Backend, BackendEvent, BackendInfo, FinishReason, GenerateRequest } from "../../src/runtime/backend.js";

/**
 * A Backend that replays recorded model output text. Each reply goes through the real prompt renderer (so the
 * conversation the agent built must be renderable) and the real streaming reply parser (so reasoning, answer
 * and tool calls come out exactly as they would from a model that wrote this text). Nothing here decides
 * anything: the script does.
 *
 * The reply for a request is chosen by how many assistant turns the conversation already holds, so the same
 * script drives a run that was resumed in another process from a snapshot.
 */

export type ScriptedReply =
  | string
  | {
      text: string;
      /** How the reply ends (default: "tool-calls" when it has calls, else "stop"). */
      finish?: FinishReason;
    };

/** A reply, or a function of the request that gives one (for replies that depend on what the agent sent). */
export type ScriptEntry =
  | ScriptedReply
  | ((request: GenerateRequest, prompt: string) => ScriptedReply | Promise<ScriptedReply>);

export interface ScriptedBackendOptions {
  thinking?: boolean;
  minPixels?: number;
  maxPixels?: number;
  /** Characters per streamed chunk (default 7: tags split across chunks on purpose). */
  chunkSize?: number;
  /** Wait between chunks, to let a test abort mid-generation (default 0: no waiting). */
  chunkDelayMs?: number;
  /** Decode every image the conversation refers to, as a real backend must (default true). */
  resolveImages?: boolean;
}

export class ScriptedBackend implements Backend {
  readonly info: BackendInfo;
  /** Every request the agent sent, and the prompt it rendered to. */
  readonly requests: GenerateRequest[] = [];
  readonly prompts: string[] = [];
  closed = 0;
  readonly #script: ScriptEntry[];
  readonly #options: ScriptedBackendOptions;

  constructor(script: ScriptEntry[], options: ScriptedBackendOptions = {}) {
    this.#script = script;
    this.#options = options;
    this.info = {
      name: "scripted",
      thinking: options.thinking ?? true,
      minPixels: options.minPixels ?? 65_536,
      maxPixels: options.maxPixels ?? 16_777_216,
    };
  }

  async *generate(request: GenerateRequest): AsyncIterable<BackendEvent> {
    this.requests.push(request);
    const prompt = renderPrompt(request.messages, {
      thinking: this.info.thinking,
      ...(request.tools ? { tools: request.tools } : {}),
    });
    this.prompts.push(prompt);
    if (this.#options.resolveImages ?? true) {
      for (const message of request.messages) {
        for (const part of contentParts(message.content)) {
          if (part.type === "image") await request.resolveImage(part.image);
        }
      }
    }
    const turn = request.messages.filter((message) => message.role === "assistant").length;
    const entry = this.#script[turn];
    if (entry === undefined) {
      throw new SquintError("BACKEND_FAILED", `The script has no reply for turn ${turn}.`, {
        hint: "Add a reply to the script.",
      });
    }
    const reply = typeof entry === "function" ? await entry(request, prompt) : entry;
    const text = typeof reply === "string" ? reply : reply.text;
    let callNumber = 0;
    const parser = new ReplyParser({ thinking: this.info.thinking, createId: () => `call_${turn}_${callNumber++}` });
    const size = this.#options.chunkSize ?? 7;
    let calls = 0;
    for (let at = 0; at < text.length; at += size) {
      if (request.signal?.aborted) {
        yield { type: "finish", reason: "aborted" };
        return;
      }
      if (this.#options.chunkDelayMs) await delay(this.#options.chunkDelayMs, request.signal);
      for (const event of parser.feed(text.slice(at, at + size))) {
        if (event.type === "tool-call") calls++;
        yield event;
      }
    }
    for (const event of parser.end()) {
      if (event.type === "tool-call") calls++;
      yield event;
    }
    yield { type: "usage", inputTokens: prompt.length, outputTokens: text.length };
    const finish = typeof reply === "string" ? undefined : reply.finish;
    yield { type: "finish", reason: finish ?? (calls > 0 ? "tool-calls" : "stop") };
  }

  async close(): Promise<void> {
    this.closed++;
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    // The listener goes when the wait ends, so a long reply does not pile listeners onto the run's signal.
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The text of a Thinking reply that reasons, then calls one tool. */
export function toolCallReply(reasoning: string, name: string, args: Record<string, unknown>): string {
  return `${reasoning}\n</think>\n\n<tool_call>\n${JSON.stringify({ name, arguments: args })}\n</tool_call>`;
}

/** The text of a Thinking reply that reasons, then answers. */
export function answerReply(reasoning: string, answer: string): string {
  return `${reasoning}\n</think>\n\n${answer}`;
}
