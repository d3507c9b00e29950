import { randomUUID } from "node:crypto";
import path from "node:path";
import { createActor, type SnapshotFrom } from "xstate";
import { SquintError, toSquintError } from "../errors.js";
import { connectConfigured, connectInProcess, type McpConnection } from "../mcp/client/connection.js";
import { loadMcpJson, type McpServerConfig } from "../mcp/client/mcp-json.js";
import { McpToolset } from "../mcp/client/toolset.js";
import { createSquintServer } from "../mcp/server.js";
import type { SquintTool } from "../tools/tool.js";
import type { ContentPart, Message } from "../model/messages.js";
import type { SamplingOptions } from "../model/sampling.js";
import { visualTokenCount } from "../model/vision.js";
import type { Backend } from "../runtime/backend.js";
import { createBackend } from "../runtime/create-backend.js";
import { defaultSourcePolicy, type SourcePolicy } from "../tools/sources/policy.js";
import { ImageStore } from "../tools/store/image-store.js";
import { builtinTools } from "../tools/index.js";
import { defaultOcrFunction } from "../tools/ocr/ocr-tool.js";
import type { AgentContext, ResolvedBudget, RunError, RunStatus, TraceStep } from "./context.js";
import { EventStream } from "./event-stream.js";
import type { AgentEvent } from "./events.js";
import { addImage, type ImageEntry } from "./image-index.js";
import { type AgentImageInput, ingestImage } from "./image-input.js";
import { backendLocateModel } from "./locate.js";
import { createAgentMachine, initialContext } from "./machine.js";
import type { AgentServices, PrepareStep, StopCondition } from "./services.js";
import {
  type AgentSnapshot,
  parseSnapshot,
  restoreSnapshotImages,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  snapshotImages,
} from "./snapshot.js";
import { earlyStops, stepLimit } from "./stop-conditions.js";
import { type AgentTools, createAgentTools } from "./tool-calls.js";

/**
 * The SDK face: `createAgent({ model, tools, mcp, budget, stopWhen, prepareStep })`, then `agent.run(...)`
 * gives `{ events, result }`: an async iterable of everything that happens and a promise of the outcome.
 * `agent.resume(snapshot)` continues a run frozen by `run.snapshot()`, in this process or another.
 */

export interface BudgetOptions {
  /** Wall time for the whole run, across resumes. Default: none. */
  maxWallTimeMs: number | null;
  /** Visual tokens (the model's own count) the conversation may hold; older crops are shrunk, then dropped. */
  maxVisualTokens: number | null;
  /** Pixel cap of a shrunk image. Default 64·32² (64 visual tokens). */
  shrinkPixels: number;
  /** Consecutive failed tool calls that end the run as failed. Default 3. */
  maxConsecutiveToolFailures: number;
  /** Per tool call. Default 60 s. */
  toolTimeoutMs: number;
}

export const DEFAULT_BUDGET: BudgetOptions = {
  maxWallTimeMs: null,
  maxVisualTokens: 24_576,
  shrinkPixels: 64 * 32 * 32,
  maxConsecutiveToolFailures: 3,
  toolTimeoutMs: 60_000,
};

export const DEFAULT_SYSTEM_PROMPT =
  "You are a helpful assistant that looks closely at images. Images are numbered from 0 in the order they appear " +
  "in the conversation (img_idx); every image a tool returns gets the next number. Use the tools to zoom in on " +
  "details you cannot read or see clearly, then answer.";

/** Tool-using steps when `stopWhen` has no `stepCountIs(n)`: a run is always bounded. */
export const DEFAULT_STEP_COUNT = 8;

export interface CreateAgentOptions {
  /**
   * The model: a Backend (e.g. createRemoteBackend, or createBackend for a server), or a pulled Hub id,
   * checkpoint or built directory, run by the in-process ONNX engine (createBackend({ model })).
   */
  model: string | Backend;
  /** Built-in tools served by the in-process MCP server. Default: all of them (builtinTools()). */
  tools?: readonly SquintTool[];
  /** mcp.json path, or server configs: more tools from external MCP servers. */
  mcp?: string | McpServerConfig[];
  budget?: Partial<BudgetOptions>;
  /**
   * When the run ends early. `stepCountIs(n)` bounds the tool-using steps (then one last turn without tools
   * asks for the answer); default stepCountIs(DEFAULT_STEP_COUNT). Other conditions end the run as "stopped".
   */
  stopWhen?: StopCondition | StopCondition[];
  prepareStep?: PrepareStep;
  /** System prompt; null for none. */
  system?: string | null;
  sampling?: Partial<SamplingOptions>;
  maxOutputTokens?: number;
  /** Shared image store (one is made otherwise). */
  store?: ImageStore;
  /** What the caller's own image arguments may name (paths anywhere and public URLs by default). */
  inputPolicy?: SourcePolicy;
}

export interface RunOptions {
  images: AgentImageInput[];
  prompt: string;
  abortSignal?: AbortSignal;
}

export interface AgentResult {
  runId: string;
  status: RunStatus;
  answer: string | null;
  reasoning: string | null;
  error: RunError | null;
  steps: TraceStep[];
  images: ImageEntry[];
  usage: { inputTokens: number; outputTokens: number };
  elapsedMs: number;
  /** The conversation as it ended (full-size images). */
  messages: Message[];
}

export interface AgentRun {
  events: AsyncIterable<AgentEvent>;
  result: Promise<AgentResult>;
  /** Freezes the run as it is now (JSON-safe); `agent.resume(snapshot)` continues it. */
  snapshot(): Promise<AgentSnapshot>;
  abort(reason?: string): void;
}

export interface Agent {
  readonly store: ImageStore;
  readonly tools: string[];
  run(options: RunOptions): AgentRun;
  resume(snapshot: AgentSnapshot | unknown, options?: { abortSignal?: AbortSignal }): AgentRun;
  /** Closes the tool connections (and the backend when the agent made it from a model id or directory). */
  close(): Promise<void>;
}

async function resolveBackend(options: CreateAgentOptions): Promise<Backend> {
  if (typeof options.model === "string" && options.model.length > 0) return createBackend({ model: options.model });
  if (isBackend(options.model)) return options.model;
  throw new SquintError("INVALID_ARGUMENT", "createAgent needs a model: a Hub id, a model directory or a Backend.", {
    hint: "Pass { model: createRemoteBackend({...}) } for a server, or { model: 'Qwen/Qwen3-VL-2B-Thinking' } once pulled.",
  });
}

function isBackend(value: unknown): value is Backend {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Backend).generate === "function" &&
    typeof (value as Backend).info === "object"
  );
}

/** The budget the machine checks; its step limit comes from stopWhen's stepCountIs, the one way to set it. */
function resolveBudget(maxSteps: number, budget: Partial<BudgetOptions> = {}): ResolvedBudget {
  if ("maxSteps" in budget) {
    throw new SquintError("INVALID_ARGUMENT", "budget.maxSteps is gone: bound the steps with stopWhen.", {
      hint: "Write stopWhen: stepCountIs(n) (import { stepCountIs } from 'squint').",
    });
  }
  const merged = { ...DEFAULT_BUDGET, ...budget, maxSteps };
  const positive = (name: string, value: number | null) => {
    if (value !== null && (!Number.isFinite(value) || value <= 0)) {
      throw new SquintError("INVALID_ARGUMENT", `budget.${name} must be a positive number, got ${value}.`, {
        hint: `Give budget.${name} a value above zero${name.startsWith("max") ? " (or null for no limit where allowed)" : ""}.`,
      });
    }
  };
  for (const [name, value] of Object.entries(merged)) positive(name, value);
  return merged;
}

export async function createAgent(options: CreateAgentOptions): Promise<Agent> {
  const stopWhen = options.stopWhen === undefined ? [] : [options.stopWhen].flat();
  const budget = resolveBudget(stepLimit(stopWhen) ?? DEFAULT_STEP_COUNT, options.budget);
  const backend = await resolveBackend(options);
  const store = options.store ?? new ImageStore();
  const inputPolicy = options.inputPolicy ?? defaultSourcePolicy({ allowedDirs: [path.parse(process.cwd()).root] });
  const builtin = options.tools ?? builtinTools();
  const connections: Array<{ connection: McpConnection; allowTools?: string[] }> = [];
  if (builtin.length > 0) {
    connections.push({
      connection: connectInProcess("squint", () =>
        createSquintServer({
          tools: builtin,
          store,
          policy: defaultSourcePolicy(),
          useClientRoots: false,
          inlineImages: false,
          // The locate tool asks the same model; OCR runs in the shared worker, started on first use.
          contextExtras: { locateModel: backendLocateModel(backend), ocr: defaultOcrFunction() },
        }),
      ),
    });
  }
  const configs = typeof options.mcp === "string" ? await loadMcpJson(options.mcp) : (options.mcp ?? []);
  for (const config of configs) {
    connections.push({
      connection: connectConfigured(config),
      ...(config.allowTools === undefined ? {} : { allowTools: config.allowTools }),
    });
  }
  let toolset: McpToolset;
  try {
    toolset = await McpToolset.open(connections, store);
  } catch (error) {
    await Promise.all(connections.map(({ connection }) => connection.close()));
    throw toSquintError(error, "TOOL_FAILED");
  }
  const agentTools = createAgentTools({ toolset, store });
  const system = options.system === undefined ? DEFAULT_SYSTEM_PROMPT : options.system;

  const start = (context: AgentContext | null, snapshot: Record<string, unknown> | null, signal?: AbortSignal) =>
    startRun({ backend, store, agentTools, stopWhen, options, context, snapshot, ...(signal ? { signal } : {}) });

  return {
    store,
    tools: agentTools.names,
    run(run) {
      const stream = new EventStream<AgentEvent>();
      const ready = (async () => {
        if (run.images.length === 0) {
          throw new SquintError("INVALID_ARGUMENT", "A run needs at least one image.", {
            hint: "Pass images: [path, URL, data URI or bytes].",
          });
        }
        const stored = await Promise.all(
          run.images.map((image) => ingestImage(store, image, inputPolicy, run.abortSignal)),
        );
        let images: ImageEntry[] = [];
        const content: ContentPart[] = [];
        for (const info of stored) {
          images = addImage(images, {
            storeId: info.id,
            width: info.width,
            height: info.height,
            origin: "user",
          }).entries;
          content.push({ type: "image", image: info.id });
        }
        content.push({ type: "text", text: run.prompt });
        const messages: Message[] = [
          ...(system ? [{ role: "system" as const, content: system }] : []),
          { role: "user", content },
        ];
        return initialContext({ runId: randomUUID(), messages, images, budget });
      })();
      return deferRun(
        stream,
        ready.then((context) => start(context, null, run.abortSignal)),
      );
    },
    resume(value, resumeOptions = {}) {
      const stream = new EventStream<AgentEvent>();
      const ready = (async () => {
        const snapshot = parseSnapshot(value);
        return restoreSnapshotImages(snapshot, store);
      })();
      return deferRun(
        stream,
        ready.then((machine) => start(null, machine, resumeOptions.abortSignal)),
      );
    },
    async close() {
      await toolset.close();
      // A backend the caller passed in is theirs to close; one made from a model id or directory is ours.
      if (typeof options.model === "string") await backend.close();
      // The shared OCR worker is left running: other agents and servers in this process may be using it (it
      // does not keep the process alive; closeDefaultOcrEngine() frees it).
    },
  };
}

interface StartedRun {
  events: EventStream<AgentEvent>;
  result: Promise<AgentResult>;
  snapshot(): Promise<AgentSnapshot>;
  abort(reason?: string): void;
}

/** A run whose setup (decoding images, restoring a snapshot) is still going: events and result wait for it. */
function deferRun(_stream: EventStream<AgentEvent>, started: Promise<StartedRun>): AgentRun {
  const events: AsyncIterable<AgentEvent> = {
    [Symbol.asyncIterator]() {
      let inner: AsyncIterator<AgentEvent> | undefined;
      return {
        async next() {
          if (!inner) {
            try {
              inner = (await started).events[Symbol.asyncIterator]();
            } catch {
              return { value: undefined, done: true };
            }
          }
          return inner.next();
        },
      };
    },
  };
  let pendingAbort: string | undefined;
  let aborted = false;
  started.then(
    (run) => {
      if (aborted) run.abort(pendingAbort);
    },
    () => {},
  );
  const result = started.then((run) => run.result);
  // A caller that only reads the events must not crash the process with an unobserved rejection.
  result.catch(() => {});
  return {
    events,
    result,
    snapshot: () => started.then((run) => run.snapshot()),
    abort(reason) {
      aborted = true;
      pendingAbort = reason;
      started.then(
        (run) => run.abort(reason),
        () => {},
      );
    },
  };
}

interface StartOptions {
  backend: Backend;
  store: ImageStore;
  agentTools: AgentTools;
  stopWhen: StopCondition[];
  options: CreateAgentOptions;
  context: AgentContext | null;
  snapshot: Record<string, unknown> | null;
  signal?: AbortSignal;
}

function startRun(start: StartOptions): StartedRun {
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
  const machine = createAgentMachine(services);
  const actor = start.snapshot
    ? createActor(machine, {
        snapshot: start.snapshot as unknown as SnapshotFrom<typeof machine>,
        // Typed as required; a restored actor takes its context from the snapshot.
        input: (start.snapshot as { context: AgentContext }).context,
      })
    : createActor(machine, { input: start.context as AgentContext });

  const result = new Promise<AgentResult>((resolve) => {
    actor.subscribe({
      complete: () => {
        const snapshot = actor.getSnapshot();
        const context = snapshot.context;
        events.end();
        resolve({
          runId: context.runId,
          status: snapshot.value as RunStatus,
          answer: context.answer,
          reasoning: context.reasoning,
          error: context.error,
          steps: context.trace,
          images: context.images,
          usage: { inputTokens: context.inputTokens, outputTokens: context.outputTokens },
          elapsedMs: services.elapsed(context),
          messages: context.messages,
        });
      },
      error: (error) => {
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
      },
    });
  });
  const onAbort = () => actor.send({ type: "abort", reason: String(start.signal?.reason ?? "signal") });
  if (start.signal?.aborted) queueMicrotask(onAbort);
  else start.signal?.addEventListener("abort", onAbort, { once: true });
  result.finally(() => start.signal?.removeEventListener("abort", onAbort));
  actor.start();

  return {
    events,
    result,
    async snapshot() {
      const persisted = actor.getPersistedSnapshot() as unknown as Record<string, unknown> & { context: AgentContext };
      const context = { ...persisted.context, elapsedMs: services.elapsed(persisted.context) };
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
