import { emit, enqueueActions, fromPromise } from "xstate";
import type { CallOutcome, TraceStep, TurnOutcome } from "./context.js";
import { type AgentMachine, agentMachine, MAX_TIMER_MS } from "./machine.js";
import type { AgentServices } from "./services.js";
import { type ActInput, actTurn, type GenerateInput, generateTurn } from "./turns.js";
import { fitVisualBudget, totalVisualTokens } from "./visual-budget.js";

/**
 * The machine with one run's services: the two actors, the clock-dependent guards and delay, and the actions
 * that read the clock or the token counter. Everything else is the module-level definition in machine.ts.
 */
export function provideServices(services: AgentServices): AgentMachine {
  const limits = () => ({ minPixels: services.backend.info.minPixels, maxPixels: services.backend.info.maxPixels });
  return agentMachine.provide({
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
      stopConditionMet: ({ context }) =>
        context.step > 0 &&
        services.stopWhen.some((condition) => condition({ steps: context.trace, step: context.step })),
    },
    actions: {
      startStep: enqueueActions(({ context, enqueue }) => {
        const step = context.step + 1;
        let images = context.images;
        let elided: TraceStep["elided"] = [];
        if (context.budget.maxVisualTokens !== null) {
          const fitted = fitVisualBudget(
            images,
            context.budget.maxVisualTokens,
            limits(),
            services.countTokens,
            context.budget.shrinkPixels,
          );
          images = fitted.entries;
          elided = fitted.changes;
        }
        const visualTokens = totalVisualTokens(images, limits(), services.countTokens);
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
          visualTokens,
          elided,
          calls: [],
        };
        enqueue.assign({ step, images, trace: [...context.trace, record], lastTurn: null, lastCalls: [] });
        enqueue.emit({ type: "start-step", step, finalTurn: context.finalTurn });
        enqueue.emit({
          type: "budget",
          state: {
            step,
            maxSteps: context.budget.maxSteps,
            elapsedMs: services.elapsed(context),
            maxWallTimeMs: context.budget.maxWallTimeMs,
            visualTokens,
            maxVisualTokens: context.budget.maxVisualTokens,
          },
          elided,
        });
      }),
      emitFinishStep: emit(({ context }) => {
        const record = context.trace.at(-1);
        return {
          type: "finish-step" as const,
          step: context.step,
          finishReason: record?.finishReason ?? "stop",
          inputTokens: record?.inputTokens ?? 0,
          outputTokens: record?.outputTokens ?? 0,
          durationMs: services.now() - (record?.startedAt ?? services.now()),
          modelMs: record?.modelMs ?? 0,
        };
      }),
    },
  });
}
