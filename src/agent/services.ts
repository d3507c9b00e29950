import type { Message } from "../model/messages.js";
import type { SamplingOptions } from "../model/sampling.js";
import type { RawImage } from "../model/vision.js";
import type { Backend } from "../runtime/backend.js";
import type { AgentContext, TraceStep } from "./context.js";
import type { AgentEvent } from "./events.js";
import type { ImageEntry } from "./image-index.js";
import type { AgentTools } from "./tool-calls.js";
import type { VisualTokenCounter } from "./visual-budget.js";

/**
 * What one run of the agent machine is given from outside: the backend, the tools, the hooks and the clock.
 * The machine (machine.ts) and the turns it invokes (turns.ts) both read it, so it lives apart from both.
 */

export interface StepInfo {
  step: number;
  finalTurn: boolean;
  messages: Message[];
  images: ImageEntry[];
  steps: TraceStep[];
}

/** What a `prepareStep` hook may change for one step (AI SDK vocabulary). */
export interface PrepareStepResult {
  /** Tool names the model may call in this step; the others are left out of the prompt. */
  activeTools?: string[];
  /** Replaces the conversation sent to the model for this step only (the stored conversation is unchanged). */
  messages?: Message[];
  sampling?: Partial<SamplingOptions>;
  maxOutputTokens?: number;
}

export type PrepareStep = (info: StepInfo) => PrepareStepResult | undefined | Promise<PrepareStepResult | undefined>;

/** Checked after each step that ran tools; the first that returns true stops the run (status "stopped"). */
export type StopCondition = (info: { steps: TraceStep[]; step: number }) => boolean;

/** The tools as the model sees them (`toolSpecs`) and one call run to its outcome (`runCall`): tool-calls.ts. */
export interface AgentServices extends Pick<AgentTools, "toolSpecs" | "runCall"> {
  backend: Backend;
  countTokens: VisualTokenCounter;
  resolveImage(reference: string): Promise<RawImage>;
  emit(event: AgentEvent): void;
  /** Milliseconds since the run began, across resumes. */
  elapsed(context: AgentContext): number;
  now(): number;
  stopWhen: StopCondition[];
  prepareStep?: PrepareStep;
  sampling?: Partial<SamplingOptions>;
  maxOutputTokens?: number;
  newId(): string;
}
