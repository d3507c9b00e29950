import { SquintError } from "../errors.js";
import type { StopCondition } from "./services.js";

/**
 * `stopWhen` helpers in the AI SDK's vocabulary. `stepCountIs(n)` is the one way to bound the steps; unlike the
 * other conditions it does not end the run silently: after n tool-using steps the model gets one last turn
 * without tools and must answer (the machine's final turn), so a run that hits the bound still has an answer.
 */

const STEP_COUNT = Symbol("squint.stepCount");

type StepCountCondition = StopCondition & { readonly [STEP_COUNT]: number };

/** Bound the run to this many tool-using steps, then ask for the answer (AI SDK's `stepCountIs`). */
export function stepCountIs(count: number): StopCondition {
  if (!Number.isInteger(count) || count <= 0) {
    throw new SquintError("INVALID_ARGUMENT", `stepCountIs takes a whole number above zero, got ${count}.`, {
      hint: "Write stopWhen: stepCountIs(8) for at most 8 tool-using steps.",
    });
  }
  const condition: StopCondition = ({ step }) => step >= count;
  return Object.assign(condition, { [STEP_COUNT]: count });
}

/** Stop after a step in which the model called this tool (AI SDK's `hasToolCall`). */
export function hasToolCall(toolName: string): StopCondition {
  return ({ steps }) => steps.at(-1)?.calls.some((call) => call.toolName === toolName) ?? false;
}

function stepCountOf(condition: StopCondition): number | undefined {
  return (condition as Partial<StepCountCondition>)[STEP_COUNT];
}

/** The tightest `stepCountIs(n)` among the conditions, if any. */
export function stepLimit(conditions: readonly StopCondition[]): number | undefined {
  const counts = conditions.map(stepCountOf).filter((count): count is number => count !== undefined);
  return counts.length === 0 ? undefined : Math.min(...counts);
}

/** The conditions that end a run as "stopped" (a step count is enforced by the final turn instead). */
export function earlyStops(conditions: readonly StopCondition[]): StopCondition[] {
  return conditions.filter((condition) => stepCountOf(condition) === undefined);
}
