import type { StopCondition } from "./services.js";

/** Stop once this many steps have run (AI SDK's `stepCountIs`). */
export function stepCountIs(count: number): StopCondition {
  return ({ step }) => step >= count;
}

/** Stop after a step in which the model called this tool (AI SDK's `hasToolCall`). */
export function hasToolCall(name: string): StopCondition {
  return ({ steps }) => steps.at(-1)?.calls.some((call) => call.name === name) ?? false;
}
