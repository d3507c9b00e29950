import { readFile } from "node:fs/promises";
import { createAgent } from "../agent/agent.js";
import type { AgentResult } from "../agent/run.js";
import { stepCountIs } from "../agent/stop-conditions.js";
import { isSquintError, SquintError, toSquintError } from "../errors.js";
import type { SamplingOptions } from "../model/sampling.js";
import { visualTokenCount } from "../model/vision.js";
import type { SquintTool } from "../tools/tool.js";
import type { Backend } from "../runtime/backend.js";
import { ImageStore } from "../tools/store/image-store.js";
import { renderItemPrompt } from "./prompts.js";
import type { EvalMode, ItemRecord } from "./results-log.js";
import { type ImageFrame, originalFrames, scoreAnswer } from "./scoring.js";
import type { SuiteItem } from "./suite.js";

/**
 * One item in one mode. `loop` runs the agent (the tools, the budgets, the system prompt: the loop as users
 * run it); `direct` sends the images and the same item prompt once, with no tools and no system prompt, and
 * takes what the model says (the baseline the loop has to beat).
 */

export interface ItemRunSettings {
  backend: Backend;
  sampling: SamplingOptions;
  maxSteps: number;
  maxNewTokens: number | null;
  maxVisualTokens: number | null;
  /** The loop's built-in tools (default: all). */
  tools?: readonly SquintTool[];
  /** The loop's system prompt (default: the agent's). */
  system?: string | null;
  signal?: AbortSignal;
}

/** A failure of the model server itself: the item is not scored, the run stops and can be resumed. */
export class BackendUnavailable extends Error {
  readonly error: SquintError;
  constructor(error: SquintError) {
    super(error.message);
    this.error = error;
  }
}

type Measured = Omit<ItemRecord, "kind" | "id" | "mode" | "category" | "truthType" | "finishedAt" | keyof Scored>;
type Scored = Pick<ItemRecord, "correct" | "score" | "answer" | "parsed" | "parseFailure" | "note">;

function record(item: SuiteItem, mode: EvalMode, scored: Scored, measured: Measured): ItemRecord {
  return {
    kind: "item",
    id: item.id,
    mode,
    category: item.category,
    truthType: item.truth.type,
    ...measured,
    ...scored,
    ...(scored.note === undefined ? {} : { note: scored.note }),
    finishedAt: new Date().toISOString(),
  };
}

function scored(item: SuiteItem, answer: string | null, frames: ImageFrame[]): Scored {
  const score = scoreAnswer(item, answer, frames);
  return {
    correct: score.correct,
    score: score.score,
    answer,
    parsed: score.parsed,
    parseFailure: score.parseFailure,
    ...(score.note === undefined ? {} : { note: score.note }),
  };
}

const backendDown = (code: string) => code === "BACKEND_FAILED" || code === "ABORTED";

export async function runItem(item: SuiteItem, mode: EvalMode, settings: ItemRunSettings): Promise<ItemRecord> {
  const started = performance.now();
  try {
    return await (mode === "loop" ? runLoop(item, settings) : runDirect(item, settings));
  } catch (error) {
    // Stopped from outside (Ctrl-C): whatever the abort surfaced as, the item is unfinished, not failed.
    if (settings.signal?.aborted && !(error instanceof BackendUnavailable)) {
      throw new BackendUnavailable(toSquintError(settings.signal.reason ?? error, "ABORTED"));
    }
    if (error instanceof BackendUnavailable || !isSquintError(error)) throw error;
    if (backendDown(error.code)) throw new BackendUnavailable(error);
    // The item itself is at fault (an image that does not decode or is over a limit): it counts as a failure of
    // this item, recorded with its error, and the run goes on.
    return record(
      item,
      mode,
      { correct: false, score: 0, answer: null, parsed: null, parseFailure: false, note: "the item could not be run" },
      {
        status: "failed",
        error: { code: error.code, message: error.message },
        turns: 0,
        toolCalls: 0,
        failedToolCalls: 0,
        toolCallsByName: {},
        visualTokens: 0,
        inputTokens: 0,
        outputTokens: 0,
        latencyMs: Math.round(performance.now() - started),
      },
    );
  }
}

/** Each image's frame: its size and its map to the caller's image, through the crops the agent made. */
function loopFrames(result: AgentResult, store: ImageStore): ImageFrame[] {
  const users = result.images.filter((entry) => entry.origin === "user").map((entry) => entry.storeId);
  return result.images.map((entry) => {
    const info = store.get(entry.storeId);
    const original = users.indexOf(info.originalId);
    return { width: info.width, height: info.height, original, toOriginal: info.toOriginal };
  });
}

async function runLoop(item: SuiteItem, settings: ItemRunSettings): Promise<ItemRecord> {
  const started = performance.now();
  // One agent per item: its image store holds this item's images and crops only, and is dropped with it.
  const agent = await createAgent({
    model: settings.backend,
    ...(settings.tools ? { tools: settings.tools } : {}),
    ...(settings.system === undefined ? {} : { system: settings.system }),
    sampling: settings.sampling,
    ...(settings.maxNewTokens === null ? {} : { maxOutputTokens: settings.maxNewTokens }),
    stopWhen: stepCountIs(settings.maxSteps),
    budget: { maxVisualTokens: settings.maxVisualTokens },
  });
  try {
    const run = agent.run({
      images: item.images,
      prompt: renderItemPrompt(item),
      ...(settings.signal ? { abortSignal: settings.signal } : {}),
    });
    for await (const _event of run.events) {
      // Drained so the stream does not hold every delta until the run ends.
    }
    const result = await run.result;
    if (result.error && backendDown(result.error.code)) {
      throw new BackendUnavailable(new SquintError(result.error.code, result.error.message));
    }
    const calls = result.steps.flatMap((step) => step.calls);
    const byName: Record<string, number> = {};
    for (const call of calls) byName[call.toolName] = (byName[call.toolName] ?? 0) + 1;
    const frames = result.images.length > 0 ? loopFrames(result, agent.store) : [];
    return record(item, "loop", scored(item, result.answer, frames), {
      status: result.status,
      ...(result.error ? { error: { code: result.error.code, message: result.error.message } } : {}),
      turns: result.steps.length,
      toolCalls: calls.length,
      failedToolCalls: calls.filter((call) => !call.ok).length,
      toolCallsByName: byName,
      visualTokens: result.steps.reduce((sum, step) => sum + step.visualTokens, 0),
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      latencyMs: Math.round(performance.now() - started),
    });
  } finally {
    await agent.close();
  }
}

async function runDirect(item: SuiteItem, settings: ItemRunSettings): Promise<ItemRecord> {
  const started = performance.now();
  const { backend } = settings;
  const store = new ImageStore();
  const images = [];
  for (const file of item.images) images.push(await store.ingest(await readFile(file), { source: file }));
  const limits = { minPixels: backend.info.minPixels, maxPixels: backend.info.maxPixels };
  let text = "";
  let inputTokens = 0;
  let outputTokens = 0;
  let finish = "stop";
  let failure: SquintError | null = null;
  try {
    for await (const event of backend.generate({
      messages: [
        {
          role: "user",
          content: [
            ...images.map((image) => ({ type: "image" as const, image: image.id })),
            { type: "text" as const, text: renderItemPrompt(item) },
          ],
        },
      ],
      thinking: backend.info.thinking,
      sampling: settings.sampling,
      ...(settings.maxNewTokens === null ? {} : { maxOutputTokens: settings.maxNewTokens }),
      ...(settings.signal ? { signal: settings.signal } : {}),
      resolveImage: async (reference) => store.pixels(reference),
    })) {
      if (event.type === "text-delta") text += event.text;
      else if (event.type === "usage") {
        inputTokens += event.inputTokens;
        outputTokens += event.outputTokens;
      } else if (event.type === "finish") finish = event.reason;
    }
  } catch (error) {
    failure = toSquintError(error, "BACKEND_FAILED");
  }
  if (failure && backendDown(failure.code)) throw new BackendUnavailable(failure);
  if (finish === "aborted") throw new BackendUnavailable(new SquintError("ABORTED", "The run was stopped."));
  const answer = text.trim() === "" ? null : text.trim();
  return record(item, "direct", scored(item, answer, originalFrames(images)), {
    status: failure ? "failed" : answer === null ? "failed" : "answered",
    ...(failure ? { error: { code: failure.code, message: failure.message } } : {}),
    turns: 1,
    toolCalls: 0,
    failedToolCalls: 0,
    toolCallsByName: {},
    visualTokens: images.reduce((sum, image) => sum + visualTokenCount(image.width, image.height, limits), 0),
    inputTokens,
    outputTokens,
    latencyMs: Math.round(performance.now() - started),
  });
}
