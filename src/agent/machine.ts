import { assign, emit, fromPromise, setup } from "xstate";
import { SquintError, toSquintError } from "../errors.js";
import type { Message } from "../model/messages.js";
import type {
  AgentContext,
  CallOutcome,
  ResolvedBudget,
  RunError,
  RunStatus,
  TraceStep,
  TurnOutcome,
} from "./context.js";
import type { AgentEvent } from "./events.js";
import { addImage, type ImageEntry } from "./image-index.js";
import type { ActInput, GenerateInput } from "./turns.js";

/**
 * The agent loop as an XState v5 machine, defined once at module level:
 *
 *   checking ──► generating ──► deciding ──► acting ──► checking …
 *        │                          │
 *        └► exhausted / failed /    └► answered / failed / exhausted
 *           stopped                     (aborted from any state on an `abort` event)
 *
 * `checking` holds every budget guard; `generating` invokes the backend, `acting` invokes the tool calls of one
 * turn (run concurrently, each with its own timeout). The context is plain JSON so a persisted snapshot resumes
 * in another process. What a run needs from outside — the backend, the tools, the clock, the stop conditions —
 * is supplied per run by `provideServices` (XState's `.provide`); the definition here holds none of it.
 * Step, budget, answer and error events are emitted by actions (`emit`); the caller listens with `actor.on`.
 * Each final state names its status, and the machine's `output` is the run's result.
 */

export const FINAL_TURN_INSTRUCTION =
  "You have used all your tool calls. Do not call any more tools: answer the question now with what you have seen.";

export type AgentMachineEvent = { type: "abort"; reason?: string };

/** What a finished run gives back: the machine's output (the caller adds its own wall time). */
export interface AgentOutput {
  runId: string;
  status: RunStatus;
  answer: string | null;
  reasoning: string | null;
  error: RunError | null;
  steps: TraceStep[];
  images: ImageEntry[];
  usage: { inputTokens: number; outputTokens: number };
  /** The conversation as it ended (full-size images). */
  messages: Message[];
}

/** setTimeout's largest delay; "no wall-time budget" waits this long, which is never in practice. */
export const MAX_TIMER_MS = 2_147_483_647;

const RUN_STATUSES: readonly RunStatus[] = ["answered", "failed", "aborted", "exhausted", "stopped"];

/** The status a final state names in its `output` (the machine's own states always name one). */
function statusOf(output: unknown): RunStatus {
  if (typeof output !== "object" || output === null || !("status" in output)) return "failed";
  return RUN_STATUSES.find((status) => status === output.status) ?? "failed";
}

function errorOf(error: unknown): RunError {
  const squint = toSquintError(error, "BACKEND_FAILED");
  return { code: squint.code, message: squint.message, ...(squint.hint === undefined ? {} : { hint: squint.hint }) };
}

function isAbort(error: unknown): boolean {
  return toSquintError(error).code === "ABORTED";
}

/** A placeholder that fails loudly if the machine is run without `provideServices`. */
function notProvided(name: string): never {
  throw new SquintError("INTERNAL", `The agent machine ran without its "${name}" implementation.`, {
    hint: "Run the machine through provideServices(services) (createAgent does this).",
  });
}

export const agentMachine = setup({
  types: {
    context: {} as AgentContext,
    events: {} as AgentMachineEvent,
    input: {} as AgentContext,
    output: {} as AgentOutput,
    emitted: {} as AgentEvent,
  },
  actors: {
    generate: fromPromise<TurnOutcome, GenerateInput>(async () => notProvided("generate")),
    act: fromPromise<CallOutcome[], ActInput>(async () => notProvided("act")),
  },
  delays: {
    wallTimeLeft: () => notProvided("wallTimeLeft"),
  },
  guards: {
    wallTimeExceeded: () => notProvided("wallTimeExceeded"),
    stopConditionMet: () => notProvided("stopConditionMet"),
    tooManyFailures: ({ context }) => context.consecutiveFailures >= context.budget.maxConsecutiveToolFailures,
    finalTurnSpent: ({ context }) => context.finalTurn,
    stepsSpent: ({ context }) => context.step >= context.budget.maxSteps,
    turnHasCalls: ({ context }) =>
      !context.finalTurn && (context.lastTurn?.toolCalls.length ?? 0) + (context.lastTurn?.callErrors.length ?? 0) > 0,
    turnHasAnswer: ({ context }) => (context.lastTurn?.text.trim().length ?? 0) > 0,
  },
  actions: {
    /** Fits the visual budget, opens the step's trace record and announces it; needs the run's clock and counter. */
    startStep: () => notProvided("startStep"),
    /** Announces the step's end; needs the run's clock for its duration. */
    emitFinishStep: () => notProvided("emitFinishStep"),
    enterFinalTurn: assign(({ context }) => ({
      finalTurn: true,
      messages: [...context.messages, { role: "user" as const, content: FINAL_TURN_INSTRUCTION }],
    })),
    recordTurn: assign(({ context }, turn: TurnOutcome) => {
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
      return {
        lastTurn: turn,
        messages: [...context.messages, assistant],
        trace,
        inputTokens: context.inputTokens + turn.inputTokens,
        outputTokens: context.outputTokens + turn.outputTokens,
      };
    }),
    recordCalls: assign(({ context }, outcomes: CallOutcome[]) => {
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
    emitAnswer: emit(({ context }) => ({
      type: "answer" as const,
      step: context.step,
      text: context.answer ?? "",
      reasoning: context.reasoning ?? "",
    })),
    failWith: assign((_, params: { error: unknown }) => ({ error: errorOf(params.error) })),
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
    markAborted: assign((_, reason: string | undefined) => ({
      error: { code: "ABORTED" as const, message: `The run was aborted${reason ? `: ${reason}` : "."}` },
    })),
    markStopped: assign({ stopReason: "stopWhen" }),
    // Always runs right after an action that set the error.
    reportError: emit(({ context }) => ({
      type: "error" as const,
      step: context.step,
      ...(context.error ?? { code: "INTERNAL" as const, message: "The run ended with an error it did not record." }),
    })),
  },
}).createMachine({
  id: "squint-agent",
  context: ({ input }) => input,
  initial: "checking",
  on: {
    abort: {
      target: ".aborted",
      actions: [{ type: "markAborted", params: ({ event }) => event.reason }, "reportError"],
    },
  },
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
        onDone: {
          target: "deciding",
          actions: [{ type: "recordTurn", params: ({ event }) => event.output }, "emitFinishStep"],
        },
        onError: [
          {
            guard: ({ event }) => isAbort(event.error),
            target: "aborted",
            actions: [{ type: "markAborted", params: () => undefined }, "reportError"],
          },
          {
            // A reply that outgrew budget.maxReplyChars: a budget ran out, as with wall time.
            guard: ({ event }) => toSquintError(event.error).code === "BUDGET_EXCEEDED",
            target: "exhausted",
            actions: [{ type: "failWith", params: ({ event }) => ({ error: event.error }) }, "reportError"],
          },
          {
            target: "failed",
            actions: [{ type: "failWith", params: ({ event }) => ({ error: event.error }) }, "reportError"],
          },
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
          // `deciding` only comes here when the last turn has calls.
          turn: context.lastTurn ?? notProvided("lastTurn"),
          images: context.images,
          step: context.step,
          toolTimeoutMs: context.budget.toolTimeoutMs,
        }),
        onDone: { target: "checking", actions: { type: "recordCalls", params: ({ event }) => event.output } },
        onError: [
          {
            guard: ({ event }) => isAbort(event.error),
            target: "aborted",
            actions: [{ type: "markAborted", params: () => undefined }, "reportError"],
          },
          {
            target: "failed",
            actions: [{ type: "failWith", params: ({ event }) => ({ error: event.error }) }, "reportError"],
          },
        ],
      },
    },
    answered: { type: "final", output: { status: "answered" } },
    failed: { type: "final", output: { status: "failed" } },
    aborted: { type: "final", output: { status: "aborted" } },
    exhausted: { type: "final", output: { status: "exhausted" } },
    stopped: { type: "final", output: { status: "stopped" } },
  },
  // The final state's own output names the status; the rest is the context as the run left it.
  output: ({ context, event }) => {
    return {
      runId: context.runId,
      status: statusOf(event.output),
      answer: context.answer,
      reasoning: context.reasoning,
      error: context.error,
      steps: context.trace,
      images: context.images,
      usage: { inputTokens: context.inputTokens, outputTokens: context.outputTokens },
      messages: context.messages,
    };
  },
});

export type AgentMachine = typeof agentMachine;

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
