import { z } from "zod";
import { createAgent } from "../../agent/agent.js";
import type { AgentResult } from "../../agent/run.js";
import type { TraceStep } from "../../agent/context.js";
import { stepCountIs } from "../../agent/stop-conditions.js";
import { SquintError } from "../../errors.js";
import { builtinTools } from "../../tools/index.js";
import { defaultSourcePolicy } from "../../tools/sources/policy.js";
import type { StoredImage } from "../../tools/store/image-store.js";
import { errorBody, errorBodySchema, publicError } from "../error-reply.js";
import { type AdmittedModelRequest, admitModelRequest } from "../model-admission.js";
import type { ServeApp, ServeContext } from "../serve-context.js";
import { openSse } from "../sse.js";

/**
 * POST /v1/ask: images + a question → the agent's answer after it looked as closely as it needed (zoom,
 * crop, OCR, locate), with the steps it took, every box its tools reported in the original images' pixels,
 * usage (input/output tokens, visual tokens, turns, tool calls) and timings. `stream: true` sends each agent
 * event as an SSE event named by its type, then one `result` event with the same body as the plain response.
 * The whole run holds the model's place in the queue: its turns share one KV cache.
 */

export const askBodySchema = z
  .object({
    images: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("Data URLs, http(s) URLs (public hosts only) or uploaded image ids (upl_…)."),
    image: z.string().min(1).optional().describe("One image (instead of `images`)."),
    question: z.string().trim().min(1).max(20_000),
    stream: z.boolean().default(false),
    max_steps: z.number().int().min(1).optional().describe("Tool-using turns before the model must answer."),
    max_output_tokens: z.number().int().min(1).optional().describe("Tokens per model turn."),
    tools: z.array(z.string().min(1)).optional().describe("Built-in tools to offer (default: all; [] for none)."),
  })
  .refine((body) => (body.images === undefined) !== (body.image === undefined), {
    message: "give either `images` or `image`",
  });

const boxSchema = z.object({
  step: z.number().int(),
  tool: z.string(),
  label: z.string().optional(),
  image: z.number().int().nullable().describe("Which of the request's images the box is on (its index)."),
  box: z.tuple([z.number(), z.number(), z.number(), z.number()]).describe("[x1, y1, x2, y2] in its original pixels."),
});

const stepSchema = z.object({
  step: z.number().int(),
  reasoning: z.string(),
  text: z.string(),
  finish_reason: z.string().nullable(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  visual_tokens: z.number().int(),
  model_ms: z.number(),
  tool_ms: z.number(),
  calls: z.array(
    z.object({
      name: z.string(),
      arguments: z.record(z.string(), z.unknown()),
      ok: z.boolean(),
      summary: z.string(),
      duration_ms: z.number(),
    }),
  ),
});

export const askResponseSchema = z.object({
  id: z.string(),
  model: z.string(),
  status: z.string().describe("answered, exhausted (budget used up), failed or aborted."),
  answer: z.string().nullable(),
  reasoning: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).nullable(),
  steps: z.array(stepSchema),
  boxes: z.array(boxSchema),
  usage: z.object({
    input_tokens: z.number().int(),
    output_tokens: z.number().int(),
    visual_tokens: z.number().int().describe("The most visual tokens the conversation held (the model's count)."),
    turns: z.number().int(),
    tool_calls: z.number().int(),
  }),
  timing_ms: z.object({ queue: z.number(), model: z.number(), tools: z.number(), total: z.number() }),
});

type AskResponse = z.infer<typeof askResponseSchema>;
type Box = z.infer<typeof boxSchema>;

/** Every `originalPixels` box a tool reported, wherever it sits in the tool's structured result. */
function boxesOf(steps: readonly TraceStep[], images: readonly StoredImage[]): Box[] {
  const boxes: Box[] = [];
  const indexOf = (originalId: unknown) => {
    const index = images.findIndex((image) => image.id === originalId);
    return index === -1 ? null : index;
  };
  const visit = (value: unknown, step: number, tool: string, originalId: unknown, label?: string) => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, step, tool, originalId, label);
      return;
    }
    if (typeof value !== "object" || value === null) return;
    const record = value as Record<string, unknown>;
    const source = record.source as { originalId?: unknown } | undefined;
    const original = source?.originalId ?? record.originalId ?? originalId;
    const ownLabel = typeof record.label === "string" ? record.label : label;
    const pixels = record.originalPixels;
    if (Array.isArray(pixels) && pixels.length === 4 && pixels.every((v) => typeof v === "number")) {
      boxes.push({
        step,
        tool,
        ...(ownLabel ? { label: ownLabel } : {}),
        image: indexOf(original),
        box: pixels as [number, number, number, number],
      });
    }
    for (const [key, child] of Object.entries(record)) {
      if (key !== "originalPixels") visit(child, step, tool, original, ownLabel);
    }
  };
  for (const step of steps) {
    for (const call of step.calls) if (call.ok) visit(call.structured, step.step, call.toolName, undefined);
  }
  return boxes;
}

function toResponse(
  result: AgentResult,
  admitted: AdmittedModelRequest,
  started: number,
  model: string,
  runId: string,
): AskResponse {
  const steps = result.steps;
  const sum = (pick: (step: TraceStep) => number) => steps.reduce((total, step) => total + pick(step), 0);
  return {
    id: `ask_${runId}`,
    model,
    status: result.status,
    answer: result.answer,
    reasoning: result.reasoning,
    error: result.error
      ? {
          code: result.error.code,
          message: result.error.message,
          ...(result.error.hint ? { hint: result.error.hint } : {}),
        }
      : null,
    steps: steps.map((step) => ({
      step: step.step,
      reasoning: step.reasoning,
      text: step.text,
      finish_reason: step.finishReason,
      input_tokens: step.inputTokens,
      output_tokens: step.outputTokens,
      visual_tokens: step.visualTokens,
      model_ms: Math.round(step.modelMs),
      tool_ms: Math.round(step.toolMs),
      calls: step.calls.map((call) => ({
        name: call.toolName,
        arguments: call.input,
        ok: call.ok,
        summary: call.summary,
        duration_ms: Math.round(call.durationMs),
      })),
    })),
    boxes: boxesOf(steps, admitted.images),
    usage: {
      input_tokens: result.usage.inputTokens,
      output_tokens: result.usage.outputTokens,
      visual_tokens: Math.max(0, ...steps.map((step) => step.visualTokens)),
      turns: steps.length,
      tool_calls: sum((step) => step.calls.length),
    },
    timing_ms: {
      queue: Math.round(admitted.queueMs),
      model: Math.round(sum((step) => step.modelMs)),
      tools: Math.round(sum((step) => step.toolMs)),
      total: Math.round(performance.now() - started),
    },
  };
}

export function registerAskRoute(app: ServeApp, context: ServeContext): void {
  app.post(
    "/v1/ask",
    {
      schema: {
        summary: "Ask about images: the model zooms, crops, reads and locates before it answers.",
        body: askBodySchema,
        response: { 200: askResponseSchema, "4xx": errorBodySchema, "5xx": errorBodySchema },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      const body = request.body;
      const limits = context.limits;
      const maxSteps = body.max_steps ?? limits.maxAskSteps;
      if (maxSteps > limits.maxAskSteps) {
        throw new SquintError(
          "INVALID_ARGUMENT",
          `max_steps ${maxSteps} is over this server's ${limits.maxAskSteps}.`,
          {
            hint: `Ask for at most ${limits.maxAskSteps} steps, or start the server with a larger --max-steps.`,
          },
        );
      }
      const maxTokens = body.max_output_tokens ?? limits.maxOutputTokens;
      if (maxTokens > limits.maxOutputTokens) {
        throw new SquintError(
          "INVALID_ARGUMENT",
          `max_output_tokens ${maxTokens} is over this server's ${limits.maxOutputTokens}.`,
          { hint: `Ask for at most ${limits.maxOutputTokens}, or start the server with a larger --max-output-tokens.` },
        );
      }
      const all = builtinTools();
      const unknown = (body.tools ?? []).filter((name) => !all.some((tool) => tool.name === name));
      if (unknown.length > 0) {
        throw new SquintError("INVALID_ARGUMENT", `No built-in tool named ${unknown.join(", ")}.`, {
          hint: `The tools are: ${all.map((tool) => tool.name).join(", ")}.`,
        });
      }
      const tools = body.tools === undefined ? all : all.filter((tool) => body.tools!.includes(tool.name));
      const references = body.images ?? [body.image!];
      const admitted = await admitModelRequest(context, request, references, "ask");
      const model = context.model.name;
      const run = async (onEvent?: (event: { type: string }) => void): Promise<AskResponse> => {
        const agent = await createAgent({
          model: admitted.backend,
          store: context.store,
          tools,
          maxOutputTokens: maxTokens,
          // The images are already in the store; the run names them by id and may name nothing else.
          inputPolicy: defaultSourcePolicy(),
          stopWhen: stepCountIs(maxSteps),
          budget: { maxWallTimeMs: limits.requestTimeoutMs },
        });
        try {
          const agentRun = agent.run({
            images: admitted.images.map((image) => image.id),
            prompt: body.question,
            abortSignal: admitted.signal,
          });
          for await (const event of agentRun.events) {
            if (event.type === "tool-call") context.metrics.toolCalls.inc({ tool: event.toolName });
            onEvent?.(event);
          }
          const result = await agentRun.result;
          if (admitted.signal.aborted) throw admitted.signal.reason;
          const response = toResponse(result, admitted, started, model, result.runId);
          context.metrics.agentTurns.observe(response.usage.turns);
          context.metrics.visualTokens.observe(response.usage.visual_tokens);
          context.metrics.promptTokensTotal.inc(response.usage.input_tokens);
          context.metrics.generationTokensTotal.inc(response.usage.output_tokens);
          return response;
        } finally {
          await agent.close();
        }
      };

      if (!body.stream) {
        try {
          return await run();
        } finally {
          admitted.done();
        }
      }
      const sse = openSse(reply);
      void (async () => {
        try {
          const response = await run((event) => sse.send(event, event.type));
          sse.send(response, "result");
        } catch (error) {
          if (!request.clientGone.aborted) sse.send(errorBody(publicError(error)), "error");
        } finally {
          admitted.done();
          sse.end();
        }
      })();
      return reply;
    },
  );
}
