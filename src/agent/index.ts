/** The agent's public face: what `import { createAgent } from "squint"` gives a Node application. */
export { type Agent, createAgent } from "./agent.js";
export {
  type BudgetOptions,
  type CreateAgentOptions,
  DEFAULT_BUDGET,
  DEFAULT_STEP_COUNT,
  DEFAULT_SYSTEM_PROMPT,
  type RunOptions,
} from "./options.js";
export type { AgentResult, AgentRun } from "./run.js";
export type { RunError, RunStatus, TraceCall, TraceStep } from "./context.js";
export type { AgentEvent, AgentEventType, BudgetState, ElidedImage, ToolResultImage } from "./events.js";
export type { ImageEntry } from "./image-index.js";
export { type LocatedBox, type LocateOptions, type LocateResult, locate } from "./locate.js";
export {
  ASK_IMAGE_TOOL_NAME,
  type AskImageTool,
  type AskImageToolOptions,
  createAskImageTool,
} from "./ask-image-tool.js";
export type { AgentImageInput } from "./image-input.js";
export { FINAL_TURN_INSTRUCTION } from "./machine.js";
export type { PrepareStep, PrepareStepResult, StepInfo, StopCondition } from "./services.js";
export { type AgentSnapshot, parseSnapshot, SNAPSHOT_VERSION } from "./snapshot.js";
export { hasToolCall, stepCountIs } from "./stop-conditions.js";
export { renderTraceReport, type TraceReportOptions } from "./trace/report.js";
