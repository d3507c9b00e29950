import { randomUUID } from "node:crypto";
import { createActor, type SnapshotFrom } from "xstate";
import { SquintError, toSquintError } from "../errors.js";
import { visualTokenCount } from "../model/vision.js";
import type { Backend } from "../runtime/backend.js";
import type { ImageStore } from "../tools/store/image-store.js";
import type { AgentContext } from "./context.js";
import { EventStream } from "./event-stream.js";
import { RunPins } from "./run-pins.js";
import type { AgentEvent } from "./events.js";
import type { AgentMachine, AgentOutput } from "./machine.js";
import { provideServices } from "./machine-services.js";
import type { CreateAgentOptions } from "./options.js";
import type { AgentServices, StopCondition } from "./services.js";
import { type AgentSnapshot, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, snapshotImages } from "./snapshot.js";
import { earlyStops } from "./stop-conditions.js";
import type { AgentTools } from "./tool-calls.js";

/**
 * One run of the machine in this process: its services bound (`provideServices`), its events (those the machine
 * emits and those its actors stream) in one ordered stream, its result from the machine's output, and a
 * snapshot that another process can resume.
 */

export interface AgentResult extends AgentOutput {
  /** Wall time of the run, across resumes. */
  elapsedMs: number;
}

export interface AgentRun {
  events: AsyncIterable<AgentEvent>;
  result: Promise<AgentResult>;
  /** Freezes the run as it is now (JSON-safe); `agent.resume(snapshot)` continues it. */
  snapshot(): Promise<AgentSnapshot>;
  abort(reason?: string): void;
}

export interface StartRunOptions {
  backend: Backend;
  store: ImageStore;
  agentTools: AgentTools;
  stopWhen: StopCondition[];
  options: Pick<CreateAgentOptions, "prepareStep" | "sampling" | "maxOutputTokens">;
  /** A new run starts from a context; a resumed one from a persisted machine snapshot. */
  from: { context: AgentContext } | { snapshot: SnapshotFrom<AgentMachine> };
  abortSignal?: AbortSignal;
}

export function startRun(start: StartRunOptions): AgentRun {
  const events = new EventStream<AgentEvent>();
  const segmentStart = performance.now();
  const services: AgentServices = {
    backend: start.backend,
    toolSpecs: (active) => start.agentTools.toolSpecs(active),
    runCall: (call, images, options) => start.agentTools.runCall(call, images, options),
    countTokens: (width, height, limits) => visualTokenCount(width, height, limits),
    resolveImage: async (reference) => start.store.pixels(reference),
    emit: (event) => events.push(event),
    elapsed: (context) => context.elapsedMs + (performance.now() - segmentStart),
    now: () => performance.now(),
    // A step count is the budget's final turn (context.budget.maxSteps); the rest may stop the run early.
    stopWhen: earlyStops(start.stopWhen),
    ...(start.options.prepareStep ? { prepareStep: start.options.prepareStep } : {}),
    ...(start.options.sampling ? { sampling: start.options.sampling } : {}),
    ...(start.options.maxOutputTokens === undefined ? {} : { maxOutputTokens: start.options.maxOutputTokens }),
    newId: () => randomUUID(),
  };
  const machine = provideServices(services);
  const actor =
    "snapshot" in start.from
      ? createActor(machine, { snapshot: start.from.snapshot, input: start.from.snapshot.context })
      : createActor(machine, { input: start.from.context });
  // What the machine's actions emit joins the actors' streamed deltas, in the order they happen.
  actor.on("*", (event) => events.push(event));
  // Every image the conversation refers to keeps its pixels while the run lasts (the store would otherwise
  // evict older crops under memory pressure, and the next turn could not show them); released at the end.
  const pins = new RunPins(start.store);
  actor.subscribe((snapshot) => pins.hold(snapshot.context.images));

  const result = new Promise<AgentResult>((resolve) => {
    actor.subscribe({
      complete: () => {
        const { output, context } = actor.getSnapshot();
        pins.releaseAll();
        events.end();
        // Every final state has an output; a machine that completes without one is a bug, reported as a failure.
        if (output) resolve({ ...output, elapsedMs: services.elapsed(context) });
        else fail(new SquintError("INTERNAL", "The agent machine finished without a result."));
      },
      error: (error) => fail(error),
    });
    function fail(error: unknown) {
      pins.releaseAll();
      const squint = toSquintError(error);
      events.push({ type: "error", step: 0, code: squint.code, message: squint.message });
      events.end();
      resolve({
        runId: "",
        status: "failed",
        answer: null,
        reasoning: null,
        error: { code: squint.code, message: squint.message },
        steps: [],
        images: [],
        usage: { inputTokens: 0, outputTokens: 0 },
        elapsedMs: 0,
        messages: [],
      });
    }
  });
  const signal = start.abortSignal;
  const onAbort = () => actor.send({ type: "abort", reason: String(signal?.reason ?? "signal") });
  if (signal?.aborted) queueMicrotask(onAbort);
  else signal?.addEventListener("abort", onAbort, { once: true });
  result.finally(() => signal?.removeEventListener("abort", onAbort));
  pins.hold(actor.getSnapshot().context.images);
  actor.start();

  return {
    events,
    result,
    async snapshot() {
      const persisted = actor.getPersistedSnapshot();
      const { context: frozen } = actor.getSnapshot();
      const context = { ...frozen, elapsedMs: services.elapsed(frozen) };
      const machineJson = JSON.parse(JSON.stringify({ ...persisted, context })) as Record<string, unknown>;
      return {
        format: SNAPSHOT_FORMAT,
        version: SNAPSHOT_VERSION,
        takenAt: new Date().toISOString(),
        machine: machineJson,
        images: await snapshotImages(context, start.store),
      };
    },
    abort(reason) {
      actor.send({ type: "abort", ...(reason === undefined ? {} : { reason }) });
    },
  };
}
