import { z } from "zod";
import { type Agent, createAgent } from "./agent.js";
import type { BudgetOptions } from "./options.js";
import type { AgentResult } from "./run.js";
import type { AgentEvent } from "./events.js";
import { stepCountIs } from "./stop-conditions.js";
import { SquintError } from "../errors.js";
import type { Backend } from "../runtime/backend.js";
import type { ToolContext } from "../tools/context.js";
import { builtinTools } from "../tools/index.js";
import type { ImageStore, StoredImage } from "../tools/store/image-store.js";
import type { ToolDefinition, ToolRunOptions } from "../tools/tool.js";
import { askImageBoxSchema, askImageStepSchema, boxesOf, stepsOf } from "./ask-image-result.js";
import type { SquintTool } from "../tools/tool.js";

/**
 * `ask_image`: the whole thinking-with-images loop as one MCP tool. The host gives images and a question; the
 * agent runs on the server's own image store, so an image the host passed (or an id from an earlier result) is
 * the same store entry the model zooms into, and every crop it makes can be read back as squint://images/<id>.
 * One progress notification per model turn; cancelling the request aborts the run (and the backend's generation).
 */

export const ASK_IMAGE_TOOL_NAME = "ask_image";
export const ASK_IMAGE_DEFAULT_MAX_STEPS = 8;
/** Upper bound for max_steps: each step is a full model turn over a growing conversation. */
export const ASK_IMAGE_MAX_STEPS = 16;
/** Result images linked from one answer (each is one resource_link; the first also goes inline). */
const MAX_LINKED_IMAGES = 16;

const inputSchema = z.object({
  images: z
    .array(z.string().min(1))
    .min(1)
    .max(8)
    .describe(
      "The images, in order (the model calls them img_idx 0, 1, ...): file paths, http(s) URLs, data URIs, or ids of images from earlier results.",
    ),
  question: z.string().min(1).max(8000).describe("What to find out about the images."),
  max_steps: z
    .number()
    .int()
    .min(1)
    .max(ASK_IMAGE_MAX_STEPS)
    .optional()
    .describe(
      `Model turns that may use tools (zoom, crop, OCR, locate) before it must answer (default ${ASK_IMAGE_DEFAULT_MAX_STEPS}).`,
    ),
});

const outputSchema = z.object({
  status: z
    .enum(["answered", "failed", "aborted", "exhausted", "stopped"])
    .describe("answered; exhausted: out of steps or visual budget; failed: the model or tools kept failing."),
  answer: z.string().nullable(),
  images: z.array(z.string()).describe("Ids of the images given, in order (img_idx 0, 1, ...)."),
  steps: z.array(askImageStepSchema).describe("Every tool call the model made, in order."),
  boxes: z.array(askImageBoxSchema).describe("Boxes from the tools and from the answer, in original-image pixels."),
  usage: z.object({ inputTokens: z.number().int(), outputTokens: z.number().int() }),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
});

export type AskImageOutput = z.infer<typeof outputSchema>;

export interface AskImageToolOptions {
  /** The model every run asks (the caller owns it and closes it). */
  model: Backend;
  /** The tools the model may use (default: all built-in ones). */
  tools?: readonly SquintTool[];
  /** Budget for every run. */
  budget?: Partial<BudgetOptions>;
  /** Tool-using steps of a call that gives no max_steps (default ASK_IMAGE_DEFAULT_MAX_STEPS). */
  stepCount?: number;
  maxOutputTokens?: number;
}

export interface AskImageTool {
  tool: ToolDefinition<typeof inputSchema, typeof outputSchema, ToolContext>;
  /** Closes the agents' tool connections (not the backend: the caller owns it). */
  close(): Promise<void>;
}

/** One progress message per model turn; it says what the previous turn's tools did. */
function progressReporter(options: ToolRunOptions, total: number): (event: AgentEvent) => void {
  let lastTools: string[] = [];
  return (event) => {
    if (event.type === "tool-result") {
      lastTools.push(`${event.toolName}${event.ok ? "" : " (failed)"}: ${event.summary.split("\n")[0]}`);
      return;
    }
    if (event.type !== "start-step") return;
    const doing = event.finalTurn ? "answering" : event.step === 1 ? "looking at the images" : "thinking";
    const after = lastTools.length > 0 ? ` after ${lastTools.join("; ")}` : "";
    lastTools = [];
    options.onProgress?.({ progress: event.step, total, message: `step ${event.step}: ${doing}${after}` });
  };
}

export function createAskImageTool(options: AskImageToolOptions): AskImageTool {
  // One agent per (store, step budget): the budget is fixed when an agent is made, and an agent holds an in-process
  // MCP connection, so runs with the same max_steps share it (runs are independent actors; the agent allows that).
  const agents = new Map<ImageStore, Map<number, Promise<Agent>>>();
  let closed = false;

  function agentFor(store: ImageStore, maxSteps: number): Promise<Agent> {
    let byBudget = agents.get(store);
    if (!byBudget) {
      byBudget = new Map();
      agents.set(store, byBudget);
    }
    let agent = byBudget.get(maxSteps);
    if (!agent) {
      agent = createAgent({
        model: options.model,
        store,
        ...(options.tools ? { tools: options.tools } : { tools: builtinTools() }),
        ...(options.maxOutputTokens === undefined ? {} : { maxOutputTokens: options.maxOutputTokens }),
        ...(options.budget ? { budget: options.budget } : {}),
        stopWhen: stepCountIs(maxSteps),
      });
      // A failed start is not remembered: the next call tries again.
      agent.catch(() => byBudget.delete(maxSteps));
      byBudget.set(maxSteps, agent);
    }
    return agent;
  }

  async function resolveAll(references: readonly string[], context: ToolContext, signal?: AbortSignal) {
    const images: StoredImage[] = [];
    for (const reference of references) images.push(await context.resolveImage(reference, signal));
    return images;
  }

  function outputOf(result: AgentResult, given: readonly StoredImage[]): AskImageOutput {
    return {
      status: result.status,
      answer: result.answer,
      images: given.map((image) => image.id),
      steps: stepsOf(result.steps),
      boxes: boxesOf(result.steps, result.answer, given[0]),
      usage: result.usage,
      ...(result.error ? { error: result.error } : {}),
    };
  }

  const tool: AskImageTool["tool"] = {
    name: ASK_IMAGE_TOOL_NAME,
    title: "Ask about images",
    description:
      "Ask a vision-language model (Qwen3-VL) a question about one or more images. It thinks with the images — " +
      "zooming, cropping, reading text and locating things as it needs — then answers. Returns the answer, every " +
      "step it took, and any boxes in the pixels of the original images. Slower than the single image tools: use it " +
      "for questions that need looking closely, and the single tools when you know exactly which region you want.",
    inputSchema,
    outputSchema,
    annotations: { readOnlyHint: true, idempotentHint: false, openWorldHint: false },
    async run(input, context, runOptions) {
      if (closed) {
        throw new SquintError("INTERNAL", "ask_image was called after the server closed it.", {
          hint: "Restart the MCP server.",
        });
      }
      const { signal } = runOptions;
      const maxSteps = input.max_steps ?? options.stepCount ?? ASK_IMAGE_DEFAULT_MAX_STEPS;
      const given = await resolveAll(input.images, context, signal);
      // Images named in tool arguments are cached unpinned; this run refers to them until it ends.
      for (const image of given) context.store.retain(image.id);
      try {
        const agent = await agentFor(context.store, maxSteps);
        signal?.throwIfAborted();
        const run = agent.run({
          images: given.map((image) => image.id),
          prompt: input.question,
          ...(signal ? { abortSignal: signal } : {}),
        });
        const report = progressReporter(runOptions, maxSteps + 1);
        for await (const event of run.events) report(event);
        const result = await run.result;
        if (result.status === "aborted" || signal?.aborted) {
          throw new SquintError("ABORTED", "ask_image was cancelled.", {
            hint: "Call it again if you still need the answer.",
          });
        }
        if (result.status === "failed" && result.answer === null) {
          // The run never got an answer: a coded error tells the host what to fix (backend down, bad image, ...).
          const error = result.error;
          throw new SquintError(error?.code ?? "BACKEND_FAILED", error?.message ?? "The model run failed.", {
            hint: error?.hint ?? "Check that the model server is running and reachable, then try again.",
            details: { steps: stepsOf(result.steps).length },
          });
        }
        const output = outputOf(result, given);
        const produced = [...new Set(output.steps.flatMap((step) => step.images))].filter((id) =>
          context.store.has(id),
        );
        const answer = result.answer ?? "(no answer)";
        return {
          structured: output,
          images: produced.slice(0, MAX_LINKED_IMAGES),
          summary:
            `${answer}\n\n[${output.status} after ${result.steps.length} model turn${result.steps.length === 1 ? "" : "s"}, ` +
            `${output.steps.length} tool call${output.steps.length === 1 ? "" : "s"}, ${output.boxes.length} box${output.boxes.length === 1 ? "" : "es"}]`,
        };
      } finally {
        for (const image of given) context.store.release(image.id);
      }
    },
  };

  return {
    tool,
    async close() {
      closed = true;
      const all = [...agents.values()].flatMap((byBudget) => [...byBudget.values()]);
      agents.clear();
      await Promise.all(all.map((agent) => agent.then((a) => a.close()).catch(() => undefined)));
    },
  };
}
