import { mkdirSync } from "node:fs";
import path from "node:path";
import { DEFAULT_SYSTEM_PROMPT } from "../agent/options.js";
import { SquintError } from "../errors.js";
import { builtinTools } from "../tools/index.js";
import { promptTemplateHash } from "./prompts.js";
import {
  appendLine,
  type EvalKnobs,
  type EvalMode,
  type ItemRecord,
  knobDifferences,
  type ResultsHeader,
  readResults,
  recordKey,
} from "./results-log.js";
import { BackendUnavailable, type ItemRunSettings, runItem } from "./run-item.js";
import type { Suite } from "./suite.js";

/**
 * Runs a suite: every (item, mode) pair that has no line in `<out>/results.jsonl` yet, `concurrency` at a
 * time, each finished pair appended at once. Rerunning the same command after a kill, a Ctrl-C or a server
 * outage picks up exactly the pairs still missing; changing a pinned knob in between is refused, since the
 * two halves would not be comparable.
 */

export const RESULTS_FILE = "results.jsonl";

const RESUME_HINT = "The results so far are kept; run the same command again to continue where it stopped.";

export interface EvalModel {
  /** What the user named: a Hub id, a directory, or the model name on a server. */
  id: string;
  revision: string | null;
  randomWeights: boolean;
}

export interface RunEvalOptions extends Omit<ItemRunSettings, "signal"> {
  suite: Suite;
  modes: EvalMode[];
  model: EvalModel;
  outDir: string;
  concurrency?: number;
  /** Only the first N items of the suite. */
  limit?: number;
  onProgress?: (progress: EvalProgress) => void;
  signal?: AbortSignal;
}

export interface EvalProgress {
  done: number;
  total: number;
  /** Pairs already in the results file when the run started. */
  resumed: number;
  last?: ItemRecord;
}

export interface EvalRun {
  header: ResultsHeader;
  /** Every record for the selected items (resumed and new), in suite order, loop before direct. */
  records: ItemRecord[];
  resumed: number;
  total: number;
  complete: boolean;
  /** Why the run stopped early (server down, abort). */
  stoppedBy: SquintError | null;
}

export function evalKnobs(options: Omit<RunEvalOptions, "suite" | "modes" | "outDir">): EvalKnobs {
  const system = options.system === undefined ? DEFAULT_SYSTEM_PROMPT : options.system;
  return {
    model: {
      id: options.model.id,
      revision: options.model.revision,
      backend: options.backend.info.name,
      thinking: options.backend.info.thinking,
      randomWeights: options.model.randomWeights,
    },
    minPixels: options.backend.info.minPixels,
    maxPixels: options.backend.info.maxPixels,
    sampling: { ...options.sampling },
    maxSteps: options.maxSteps,
    maxNewTokens: options.maxNewTokens,
    maxVisualTokens: options.maxVisualTokens,
    tools: (options.tools ?? builtinTools()).map((tool) => tool.name),
    promptTemplateHash: promptTemplateHash(system),
  };
}

export async function runEval(options: RunEvalOptions): Promise<EvalRun> {
  mkdirSync(options.outDir, { recursive: true });
  const file = path.join(options.outDir, RESULTS_FILE);
  const knobs = evalKnobs(options);
  const suite = { path: options.suite.path, sha256: options.suite.sha256, items: options.suite.items.length };
  const existing = readResults(file, { repair: true });
  let header: ResultsHeader;
  if (existing.header) {
    header = existing.header;
    const changed = knobDifferences(header.knobs, knobs);
    if (header.suite.sha256 !== suite.sha256) changed.push(`suite: ${header.suite.path} changed since the run began`);
    if (changed.length > 0) {
      throw new SquintError(
        "INVALID_ARGUMENT",
        `${file} holds results made with other settings:\n  ${changed.join("\n  ")}`,
        { hint: "Rerun with the same settings to continue it, or give a fresh --out directory." },
      );
    }
  } else {
    header = {
      kind: "header",
      format: "squint-eval-results",
      version: 1,
      knobs,
      suite,
      startedAt: new Date().toISOString(),
    };
    appendLine(file, header);
  }
  const items = options.suite.items.slice(0, options.limit ?? options.suite.items.length);
  const wanted = new Set(items.map((item) => item.id));
  const done = new Map<string, ItemRecord>();
  for (const record of existing.records) {
    if (wanted.has(record.id) && options.modes.includes(record.mode))
      done.set(recordKey(record.id, record.mode), record);
  }
  const pending = items.flatMap((item) =>
    options.modes.filter((mode) => !done.has(recordKey(item.id, mode))).map((mode) => ({ item, mode })),
  );
  const total = items.length * options.modes.length;
  const resumed = done.size;
  let finished = resumed;
  let stoppedBy: SquintError | null = null;
  options.onProgress?.({ done: finished, total, resumed });

  const worker = async () => {
    for (let next = pending.shift(); next && !stoppedBy; next = pending.shift()) {
      if (options.signal?.aborted) {
        const reason = options.signal.reason;
        stoppedBy = new SquintError(
          "ABORTED",
          `The run was stopped (${reason instanceof Error ? reason.message : String(reason ?? "abort")}).`,
          { hint: RESUME_HINT },
        );
        return;
      }
      // Each item listens to its own signal, linked to the run's: whatever an item's agent, tools and backend
      // attach to it goes away with the item instead of piling up on the run's signal.
      const item = new AbortController();
      const forward = () => item.abort(options.signal?.reason);
      options.signal?.addEventListener("abort", forward, { once: true });
      try {
        const record = await runItem(next.item, next.mode, { ...options, signal: item.signal });
        appendLine(file, record);
        done.set(recordKey(record.id, record.mode), record);
        finished++;
        options.onProgress?.({ done: finished, total, resumed, last: record });
      } catch (error) {
        if (error instanceof BackendUnavailable) {
          stoppedBy ??= new SquintError(
            error.error.code,
            `Stopped at item ${next.item.id} (${next.mode}): ${error.error.message}`,
            { hint: RESUME_HINT },
          );
          return;
        }
        throw error;
      } finally {
        options.signal?.removeEventListener("abort", forward);
      }
    }
  };
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 1, pending.length || 1));
  await Promise.all(Array.from({ length: concurrency }, worker));
  const records = items.flatMap((item) =>
    (["loop", "direct"] as const)
      .filter((mode) => options.modes.includes(mode))
      .map((mode) => done.get(recordKey(item.id, mode)))
      .filter((record): record is ItemRecord => record !== undefined),
  );
  return { header, records, resumed, total, complete: records.length === total, stoppedBy };
}
