import { randomUUID } from "node:crypto";
import path from "node:path";
import type { SnapshotFrom } from "xstate";
import { SquintError } from "../errors.js";
import type { ContentPart, Message } from "../model/messages.js";
import { defaultSourcePolicy } from "../tools/sources/policy.js";
import { ImageStore } from "../tools/store/image-store.js";
import type { AgentContext } from "./context.js";
import { type AbortLink, linkAbort } from "./abort-link.js";
import { deferRun } from "./deferred-run.js";
import { addImage, type ImageEntry } from "./image-index.js";
import { ingestImage } from "./image-input.js";
import { type AgentMachine, initialContext } from "./machine.js";
import {
  type CreateAgentOptions,
  DEFAULT_STEP_COUNT,
  DEFAULT_SYSTEM_PROMPT,
  resolveBudget,
  resolveModel,
  type RunOptions,
} from "./options.js";
import { type AgentRun, startRun } from "./run.js";
import { type AgentSnapshot, parseSnapshot, restoreSnapshotImages } from "./snapshot.js";
import { stepLimit } from "./stop-conditions.js";
import { createAgentTools } from "./tool-calls.js";
import { openAgentToolset } from "./tool-connections.js";

/**
 * The SDK face: `createAgent({ model, tools, mcp, budget, stopWhen, prepareStep })`, then `agent.run(...)`
 * gives `{ events, result }`: an async iterable of everything that happens and a promise of the outcome.
 * `agent.resume(snapshot)` continues a run frozen by `run.snapshot()`, in this process or another.
 *
 * The parts live by job: options.ts (what is accepted, defaults, checks), tool-connections.ts (MCP wiring),
 * run.ts (one run of the machine), deferred-run.ts (a run whose setup is still going), machine.ts (the loop).
 */

export interface Agent {
  readonly store: ImageStore;
  readonly tools: string[];
  run(options: RunOptions): AgentRun;
  resume(snapshot: AgentSnapshot | unknown, options?: { abortSignal?: AbortSignal }): AgentRun;
  /** Closes the tool connections (and the backend when the agent made it from a model id or directory). */
  close(): Promise<void>;
}

/**
 * A restored machine snapshot: XState's persisted shape (status, state value) around the run's context.
 * parseSnapshot checked the envelope and the version; this checks what the actor reads first.
 */
function isPersistedRun(value: unknown): value is SnapshotFrom<AgentMachine> {
  if (typeof value !== "object" || value === null) return false;
  if (!("status" in value) || value.status !== "active" || !("value" in value) || !("context" in value)) return false;
  const context = value.context;
  return typeof context === "object" && context !== null && "runId" in context && "messages" in context;
}

function unlinkWhenDone(run: AgentRun, link: AbortLink): AgentRun {
  run.result.then(link.unlink, link.unlink);
  return run;
}

export async function createAgent(options: CreateAgentOptions): Promise<Agent> {
  const stopWhen = options.stopWhen === undefined ? [] : [options.stopWhen].flat();
  const budget = resolveBudget(stepLimit(stopWhen) ?? DEFAULT_STEP_COUNT, options.budget);
  const backend = await resolveModel(options);
  const store = options.store ?? new ImageStore();
  const inputPolicy = options.inputPolicy ?? defaultSourcePolicy({ allowedDirs: [path.parse(process.cwd()).root] });
  const toolset = await openAgentToolset({ tools: options.tools, mcp: options.mcp, backend, store });
  const agentTools = createAgentTools({ toolset, store });
  const system = options.system === undefined ? DEFAULT_SYSTEM_PROMPT : options.system;
  const common = { backend, store, agentTools, stopWhen, options };

  /** The first context of a new run: the system prompt, then the caller's images and question. */
  async function newRunContext(run: RunOptions): Promise<AgentContext> {
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
      images = addImage(images, { storeId: info.id, width: info.width, height: info.height, origin: "user" }).entries;
      content.push({ type: "image", image: info.id });
    }
    content.push({ type: "text", text: run.prompt });
    const messages: Message[] = [
      ...(system ? [{ role: "system" as const, content: system }] : []),
      { role: "user", content },
    ];
    return initialContext({ runId: randomUUID(), messages, images, budget });
  }

  return {
    store,
    tools: agentTools.names,
    run(run) {
      // One listener on the caller's signal however many runs share it (abort-link.ts).
      const link = linkAbort(run.abortSignal);
      const started = newRunContext({ ...run, abortSignal: link.signal }).then((context) =>
        startRun({ ...common, abortSignal: link.signal, from: { context } }),
      );
      return unlinkWhenDone(deferRun(started), link);
    },
    resume(value, resumeOptions = {}) {
      const link = linkAbort(resumeOptions.abortSignal);
      const abort = { abortSignal: link.signal };
      const restored = (async () => {
        const machine = await restoreSnapshotImages(parseSnapshot(value), store);
        if (!isPersistedRun(machine)) {
          throw new SquintError("INVALID_ARGUMENT", "The snapshot's machine has no run context.", {
            hint: "Pass a snapshot taken with run.snapshot(), unedited.",
          });
        }
        return machine;
      })();
      return unlinkWhenDone(
        deferRun(restored.then((snapshot) => startRun({ ...common, ...abort, from: { snapshot } }))),
        link,
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
