import { assign, fromPromise, setup } from "xstate";
import { toSquintError } from "../errors.js";
import type { Message } from "../model/messages.js";
import type { AgentContext, CallOutcome, ResolvedBudget, RunError, TraceStep, TurnOutcome } from "./context.js";
import type { BudgetState } from "./events.js";
import { addImage, type ImageEntry } from "./image-index.js";
import { type ActInput, actTurn, type GenerateInput, generateTurn } from "./turns.js";
import type { AgentServices } from "./services.js";
import { fitVisualBudget, totalVisualTokens } from "./visual-budget.js";

/**
 * The agent loop as an XState v5 machine:
 *
 *   checking ──► generating ──► deciding ──► acting ──► observing ──► checking …
 *        │                          │
 *        └► exhausted / failed /    └► answered / failed / exhausted
 *           stopped                     (aborted from generating or acting on an `abort` event)
 *
 * `checking` holds every budget guard; `generating` invokes the backend, `acting` invokes the tool calls of one
 * turn (run concurrently, each with its own timeout). The context is plain JSON so a persisted snapshot resumes
 * in another process; the backend, tools and hooks come in through `AgentServices`.
 */

export const FINAL_TURN_INSTRUCTION =
  "You have used all your tool calls. Do not call any more tools: answer the question now with what you have seen.";

export type AgentMachineEvent = { type: "abort"; reason?: string };

/** setTimeout's largest delay; "no wall-time budget" waits this long, which is never in practice. */
const MAX_TIMER_MS = 2_147_483_647;

function budgetState(context: AgentContext, services: AgentServices): BudgetState {
  const limits = { minPixels: services.backend.info.minPixels, maxPixels: services.backend.info.maxPixels };
  return {
    step: context.step,
    maxSteps: context.budget.maxSteps,
    elapsedMs: services.elapsed(context),
    maxWallTimeMs: context.budget.maxWallTimeMs,
    visualTokens: totalVisualTokens(context.images, limits, services.countTokens),
    maxVisualTokens: context.budget.maxVisualTokens,
  };
}

function errorOf(error: unknown): RunError {
  const squint = toSquintError(error, "BACKEND_FAILED");
  return { code: squint.code, message: squint.message, ...(squint.hint === undefined ? {} : { hint: squint.hint }) };
}

/** Builds the machine with its services bound; the same definition restores a persisted snapshot. */
export function createAgentMachine(services: AgentServices) {
  const emitError = (context: AgentContext) => {
    if (context.error) services.emit({ type: "error", step: context.step, ...context.error });
  };
  return setup({
    types: {
      context: {} as AgentContext,
      events: {} as AgentMachineEvent,
      input: {} as AgentContext,
    },
    actors: {
      generate: fromPromise<TurnOutcome, GenerateInput>(({ input, signal }) => generateTurn(input, signal, services)),
      act: fromPromise<CallOutcome[], ActInput>(({ input, signal }) => actTurn(input, signal, services)),
    },
    delays: {
      // A generation or a tool call that runs past the wall-time budget is cut, not waited for.
      wallTimeLeft: ({ context }) =>
        context.budget.maxWallTimeMs === null
          ? MAX_TIMER_MS
          : Math.min(MAX_TIMER_MS, Math.max(0, context.budget.maxWallTimeMs - services.elapsed(context))),
    },
    guards: {
      wallTimeExceeded: ({ context }) =>
        context.budget.maxWallTimeMs !== null && services.elapsed(context) >= context.budget.maxWallTimeMs,
      tooManyFailures: ({ context }) => context.consecutiveFailures >= context.budget.maxConsecutiveToolFailures,
      stopConditionMet: ({ context }) =>
        context.step > 0 &&
        services.stopWhen.some((condition) => condition({ steps: context.trace, step: context.step })),
      finalTurnSpent: ({ context }) => context.finalTurn,
      stepsSpent: ({ context }) => context.step >= context.budget.maxSteps,
      turnHasCalls: ({ context }) =>
        !context.finalTurn &&
        (context.lastTurn?.toolCalls.length ?? 0) + (context.lastTurn?.callErrors.length ?? 0) > 0,
      turnHasAnswer: ({ context }) => (context.lastTurn?.text.trim().length ?? 0) > 0,
    },
    actions: {
      startStep: assign(({ context }) => {
        const step = context.step + 1;
        const limits = { minPixels: services.backend.info.minPixels, maxPixels: services.backend.info.maxPixels };
        let images = context.images;
        let elided: TraceStep["elided"] = [];
        if (context.budget.maxVisualTokens !== null) {
          const fitted = fitVisualBudget(
            images,
            context.budget.maxVisualTokens,
            limits,
            services.countTokens,
            context.budget.shrinkPixels,
          );
          images = fitted.entries;
          elided = fitted.changes;
        }
        const next = { ...context, step, images };
        services.emit({ type: "start-step", step, finalTurn: context.finalTurn });
        const state = budgetState(next, services);
        services.emit({ type: "budget", state, elided });
        const record: TraceStep = {
          step,
          finalTurn: context.finalTurn,
          startedAt: services.now(),
          modelMs: 0,
          toolMs: 0,
          reasoning: "",
          text: "",
          finishReason: null,
          inputTokens: 0,
          outputTokens: 0,
          visualTokens: state.visualTokens,
          elided,
          calls: [],
        };
        return { step, images, trace: [...context.trace, record], lastTurn: null, lastCalls: [] };
      }),
      enterFinalTurn: assign(({ context }) => ({
        finalTurn: true,
        messages: [...context.messages, { role: "user" as const, content: FINAL_TURN_INSTRUCTION }],
      })),
      recordTurn: assign(({ context, event }) => {
        const turn = (event as unknown as { output: TurnOutcome }).output;
        const assistant: Message = {
          role: "assistant",
          content: turn.text,
          ...(turn.reasoning ? { reasoning: turn.reasoning } : {}),
          ...(turn.toolCalls.length > 0 && !context.finalTurn ? { toolCalls: turn.toolCalls } : {}),
        };
        const trace = context.trace.map((step, i) =>
          i === context.trace.length - 1
            ? {
                ...step,
                modelMs: turn.modelMs,
                reasoning: turn.reasoning,
                text: turn.text,
                finishReason: turn.finishReason,
                inputTokens: turn.inputTokens,
                outputTokens: turn.outputTokens,
              }
            : step,
        );
        services.emit({
          type: "finish-step",
          step: context.step,
          finishReason: turn.finishReason,
          inputTokens: turn.inputTokens,
          outputTokens: turn.outputTokens,
          durationMs: services.now() - (context.trace.at(-1)?.startedAt ?? services.now()),
          modelMs: turn.modelMs,
        });
        return {
          lastTurn: turn,
          messages: [...context.messages, assistant],
          trace,
          inputTokens: context.inputTokens + turn.inputTokens,
          outputTokens: context.outputTokens + turn.outputTokens,
        };
      }),
      recordCalls: assign(({ context, event }) => {
        const outcomes = (event as unknown as { output: CallOutcome[] }).output;
        let images = context.images;
        let failures = context.consecutiveFailures;
        const toolMessages: Message[] = [];
        const calls: TraceStep["calls"] = [];
        for (const outcome of outcomes) {
          const indices: number[] = [];
          for (const image of outcome.images) {
            const added = addImage(images, image);
            images = added.entries;
            indices.push(added.index);
          }
          failures = outcome.ok ? 0 : failures + 1;
          const note =
            indices.length === 0
              ? ""
              : `\n(${indices.map((index) => `image ${index}`).join(", ")}: use img_idx ${indices.join(" / ")} to refer to ${indices.length === 1 ? "it" : "them"})`;
          toolMessages.push({
            role: "tool",
            toolCallId: outcome.toolCallId,
            name: outcome.toolName,
            content: [
              ...outcome.images.map((image) => ({ type: "image" as const, image: image.storeId })),
              { type: "text" as const, text: `${outcome.text}${note}` },
            ],
          });
          calls.push({
            toolCallId: outcome.toolCallId,
            toolName: outcome.toolName,
            input: context.lastTurn?.toolCalls.find((call) => call.id === outcome.toolCallId)?.arguments ?? {},
            ok: outcome.ok,
            summary: outcome.text,
            ...(outcome.failure === undefined ? {} : { failure: outcome.failure }),
            images: indices.map((index) => {
              const entry = images[index];
              return { index, storeId: entry.storeId, width: entry.width, height: entry.height };
            }),
            ...(outcome.structured === undefined ? {} : { structured: outcome.structured }),
            durationMs: outcome.durationMs,
          });
        }
        const toolMs = outcomes.reduce((max, outcome) => Math.max(max, outcome.durationMs), 0);
        const trace = context.trace.map((step, i) =>
          i === context.trace.length - 1 ? { ...step, calls, toolMs } : step,
        );
        return {
          images,
          consecutiveFailures: failures,
          messages: [...context.messages, ...toolMessages],
          lastCalls: outcomes,
          trace,
        };
      }),
      recordAnswer: assign(({ context }) => ({
        answer: context.lastTurn?.text.trim() ?? "",
        reasoning: context.lastTurn?.reasoning ?? "",
      })),
      emitAnswer: ({ context }) =>
        services.emit({
          type: "answer",
          step: context.step,
          text: context.answer ?? "",
          reasoning: context.reasoning ?? "",
        }),
      failWith: assign(({ event }) => ({
        error: errorOf((event as unknown as { error: unknown }).error),
      })),
      failTooManyToolErrors: assign(({ context }) => ({
        error: {
          code: "TOOL_FAILED" as const,
          message: `${context.consecutiveFailures} tool calls in a row failed; the last: ${context.lastCalls.at(-1)?.text ?? "?"}`,
          hint: "Read the trace to see each failed call; a model that keeps misusing a tool may need a clearer system prompt.",
        },
      })),
      failEmptyReply: assign(({ context }) => ({
        error: {
          code: "BACKEND_FAILED" as const,
          message:
            context.lastTurn?.finishReason === "length"
              ? "The model ran out of new tokens before it answered (the reply was all reasoning)."
              : "The model returned neither an answer nor a tool call.",
          hint:
            context.lastTurn?.finishReason === "length"
              ? "Raise maxOutputTokens, or use an Instruct checkpoint for shorter replies."
              : "Try again, or rephrase the question.",
        },
      })),
      exhaustWallTime: assign(({ context }) => ({
        error: {
          code: "BUDGET_EXCEEDED" as const,
          message: `The run used its wall-time budget (${context.budget.maxWallTimeMs} ms) before the model answered.`,
          hint: "Raise budget.maxWallTimeMs, or lower stopWhen's stepCountIs(n) so the model answers sooner.",
        },
      })),
      exhaustSteps: assign(({ context }) => ({
        error: {
          code: "BUDGET_EXCEEDED" as const,
          message: `The model used all ${context.budget.maxSteps} steps and gave no answer in its final turn.`,
          hint: "Raise stopWhen's stepCountIs(n) (--max-steps on the CLI), or ask a narrower question.",
        },
      })),
      markAborted: assign(({ event }) => ({
        error: {
          code: "ABORTED" as const,
          message: `The run was aborted${event.type === "abort" && event.reason ? `: ${event.reason}` : "."}`,
        },
      })),
      markStopped: assign({ stopReason: "stopWhen" }),
      reportError: ({ context }) => emitError(context),
    },
  }).createMachine({
    id: "squint-agent",
    context: ({ input }) => input,
    initial: "checking",
    on: { abort: { target: ".aborted", actions: ["markAborted", "reportError"] } },
    states: {
      checking: {
        always: [
          { guard: "wallTimeExceeded", target: "exhausted", actions: ["exhaustWallTime", "reportError"] },
          { guard: "tooManyFailures", target: "failed", actions: ["failTooManyToolErrors", "reportError"] },
          { guard: "stopConditionMet", target: "stopped", actions: "markStopped" },
          { guard: "finalTurnSpent", target: "exhausted", actions: ["exhaustSteps", "reportError"] },
          { guard: "stepsSpent", target: "generating", actions: "enterFinalTurn" },
          { target: "generating" },
        ],
      },
      generating: {
        entry: "startStep",
        after: { wallTimeLeft: { target: "exhausted", actions: ["exhaustWallTime", "reportError"] } },
        invoke: {
          src: "generate",
          input: ({ context }) => ({ context }),
          onDone: { target: "deciding", actions: "recordTurn" },
          onError: [
            {
              guard: ({ event }) => toSquintError(event.error).code === "ABORTED",
              target: "aborted",
              actions: ["markAborted", "reportError"],
            },
            { target: "failed", actions: ["failWith", "reportError"] },
          ],
        },
      },
      deciding: {
        always: [
          { guard: "turnHasCalls", target: "acting" },
          { guard: "turnHasAnswer", target: "answered", actions: ["recordAnswer", "emitAnswer"] },
          { guard: "finalTurnSpent", target: "exhausted", actions: ["exhaustSteps", "reportError"] },
          { target: "failed", actions: ["failEmptyReply", "reportError"] },
        ],
      },
      acting: {
        after: { wallTimeLeft: { target: "exhausted", actions: ["exhaustWallTime", "reportError"] } },
        invoke: {
          src: "act",
          input: ({ context }) => ({
            turn: context.lastTurn as TurnOutcome,
            images: context.images,
            step: context.step,
            toolTimeoutMs: context.budget.toolTimeoutMs,
          }),
          onDone: { target: "checking", actions: "recordCalls" },
          onError: [
            {
              guard: ({ event }) => toSquintError(event.error).code === "ABORTED",
              target: "aborted",
              actions: ["markAborted", "reportError"],
            },
            { target: "failed", actions: ["failWith", "reportError"] },
          ],
        },
      },
      answered: { type: "final" },
      failed: { type: "final" },
      aborted: { type: "final" },
      exhausted: { type: "final" },
      stopped: { type: "final" },
    },
  });
}

export type AgentMachine = ReturnType<typeof createAgentMachine>;

export function initialContext(options: {
  runId: string;
  messages: Message[];
  images: ImageEntry[];
  budget: ResolvedBudget;
}): AgentContext {
  return {
    runId: options.runId,
    messages: options.messages,
    images: options.images,
    budget: options.budget,
    step: 0,
    finalTurn: false,
    elapsedMs: 0,
    consecutiveFailures: 0,
    lastTurn: null,
    lastCalls: [],
    answer: null,
    reasoning: null,
    error: null,
    stopReason: null,
    inputTokens: 0,
    outputTokens: 0,
    trace: [],
  };
}
