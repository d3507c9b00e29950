import { SquintError } from "../errors.js";
import type { AgentContext, CallOutcome, TurnOutcome } from "./context.js";
import { applyImageStates, type ImageEntry } from "./image-index.js";
import { DEFAULT_BUDGET } from "./options.js";
import type { AgentServices } from "./services.js";

/**
 * The work behind the agent machine's two invoked actors: one model turn (`generateTurn`) and the tool calls of
 * one turn (`actTurn`). The machine (machine.ts) decides when they run; these decide what they do.
 */

export interface GenerateInput {
  context: AgentContext;
}

export interface ActInput {
  turn: TurnOutcome;
  images: ImageEntry[];
  step: number;
  toolTimeoutMs: number;
}

export async function generateTurn(
  input: GenerateInput,
  signal: AbortSignal,
  services: AgentServices,
): Promise<TurnOutcome> {
  const { context } = input;
  const step = context.step;
  const seen = applyImageStates(context.messages, context.images);
  const prepared =
    (await services.prepareStep?.({
      step,
      finalTurn: context.finalTurn,
      messages: seen,
      images: context.images,
      steps: context.trace,
    })) ?? {};
  const tools = context.finalTurn ? [] : services.toolSpecs(prepared.activeTools);
  const started = services.now();
  const outcome: TurnOutcome = {
    text: "",
    reasoning: "",
    toolCalls: [],
    callErrors: [],
    finishReason: "stop",
    inputTokens: 0,
    outputTokens: 0,
    modelMs: 0,
  };
  const sampling = { ...services.sampling, ...prepared.sampling };
  const maxOutputTokens = prepared.maxOutputTokens ?? services.maxOutputTokens;
  const stream = services.backend.generate({
    messages: prepared.messages ?? seen,
    ...(tools.length > 0 ? { tools } : {}),
    thinking: services.backend.info.thinking,
    ...(Object.keys(sampling).length > 0 ? { sampling } : {}),
    ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }),
    signal,
    resolveImage: (reference) => services.resolveImage(reference),
  });
  const maxReplyChars = context.budget.maxReplyChars ?? DEFAULT_BUDGET.maxReplyChars;
  for await (const event of stream) {
    if (signal.aborted) break;
    if (
      (event.type === "reasoning-delta" || event.type === "text-delta") &&
      outcome.reasoning.length + outcome.text.length + event.text.length > maxReplyChars
    ) {
      // Leaving the loop closes the backend's stream (its return()), which cancels the request.
      throw new SquintError("BUDGET_EXCEEDED", `The model's reply passed ${maxReplyChars} characters without ending.`, {
        hint: "Lower maxOutputTokens (the server may be ignoring it), or raise budget.maxReplyChars.",
        details: { step, characters: outcome.reasoning.length + outcome.text.length },
      });
    }
    switch (event.type) {
      case "reasoning-delta":
        outcome.reasoning += event.text;
        services.emit({ type: "reasoning-delta", step, text: event.text });
        break;
      case "text-delta":
        outcome.text += event.text;
        services.emit({ type: "text-delta", step, text: event.text });
        break;
      case "tool-call": {
        const id = event.call.id ?? `call_${step}_${outcome.toolCalls.length + outcome.callErrors.length}`;
        outcome.toolCalls.push({ ...event.call, id });
        services.emit({
          type: "tool-call",
          step,
          toolCallId: id,
          toolName: event.call.name,
          input: event.call.arguments,
        });
        break;
      }
      case "tool-call-error":
        outcome.callErrors.push({
          id: `call_${step}_${outcome.toolCalls.length + outcome.callErrors.length}`,
          raw: event.raw,
          message: event.message,
        });
        break;
      case "usage":
        outcome.inputTokens = event.inputTokens;
        outcome.outputTokens = event.outputTokens;
        break;
      case "finish":
        outcome.finishReason = event.reason;
        break;
    }
  }
  if (signal.aborted) throw new SquintError("ABORTED", "The run was aborted during generation.");
  outcome.modelMs = services.now() - started;
  return outcome;
}

export async function actTurn(input: ActInput, signal: AbortSignal, services: AgentServices): Promise<CallOutcome[]> {
  const { turn, images, step } = input;
  // A `<tool_call>` the parser could not repair goes back as a short error the model can act on.
  const unparsed: CallOutcome[] = turn.callErrors.map((error) => ({
    toolCallId: error.id,
    toolName: "(unparsed)",
    ok: false,
    failure: "invalid-call",
    text: `Error: your <tool_call> could not be read: ${error.message}. Write it as <tool_call>{"name": "...", "arguments": {...}}</tool_call> with valid JSON.`,
    images: [],
    durationMs: 0,
  }));
  // Concurrently, each call on its own timeout; reported in call order once all are back, so the image
  // indices the events announce are the ones `observing` assigns.
  const results = await Promise.all(
    turn.toolCalls.map((call) => services.runCall(call, images, { signal, timeoutMs: input.toolTimeoutMs })),
  );
  if (signal.aborted) throw new SquintError("ABORTED", "The run was aborted while tools were running.");
  const known = new Map(images.map((image) => [image.storeId, image.index]));
  for (const outcome of [...results, ...unparsed]) {
    const announced = outcome.images.map((image) => {
      let index = known.get(image.storeId);
      if (index === undefined) {
        index = known.size;
        known.set(image.storeId, index);
      }
      return { index, storeId: image.storeId, width: image.width, height: image.height };
    });
    services.emit({
      type: "tool-result",
      step,
      toolCallId: outcome.toolCallId,
      toolName: outcome.toolName,
      ok: outcome.ok,
      summary: outcome.text,
      images: announced,
      ...(outcome.structured === undefined ? {} : { structured: outcome.structured }),
      durationMs: outcome.durationMs,
      ...(outcome.failure === undefined ? {} : { failure: outcome.failure }),
    });
  }
  return [...results, ...unparsed];
}
