import { appendFileSync, existsSync, readFileSync, truncateSync } from "node:fs";
import { z } from "zod";
import { SquintError } from "../errors.js";

/**
 * The results of a run, append-only: a header line with the pinned knobs, then one line per finished
 * (item, mode). A killed run leaves at most one torn last line; reopening cuts it off and the run goes on
 * with the pairs that have no line yet. Each line is written by one append, so lines never interleave.
 */

export type EvalMode = "loop" | "direct";

export const knobsSchema = z.object({
  model: z.object({
    id: z.string(),
    revision: z.string().nullable(),
    backend: z.string(),
    thinking: z.boolean(),
    /** A checkpoint with random weights (squint models make-tiny): its accuracy means nothing. */
    randomWeights: z.boolean(),
  }),
  minPixels: z.number(),
  maxPixels: z.number(),
  sampling: z.record(z.string(), z.unknown()),
  maxSteps: z.number(),
  maxNewTokens: z.number().nullable(),
  maxVisualTokens: z.number().nullable(),
  tools: z.array(z.string()),
  promptTemplateHash: z.string(),
});

export type EvalKnobs = z.infer<typeof knobsSchema>;

export const headerSchema = z.object({
  kind: z.literal("header"),
  format: z.literal("squint-eval-results"),
  version: z.literal(1),
  knobs: knobsSchema,
  suite: z.object({ path: z.string(), sha256: z.string(), items: z.number() }),
  startedAt: z.string(),
});

export type ResultsHeader = z.infer<typeof headerSchema>;

export const itemRecordSchema = z.object({
  kind: z.literal("item"),
  id: z.string(),
  mode: z.enum(["loop", "direct"]),
  category: z.string(),
  truthType: z.string(),
  /** The agent's run status ("answered", "exhausted", …); "answered" or "failed" for direct. */
  status: z.string(),
  correct: z.boolean(),
  score: z.number(),
  answer: z.string().nullable(),
  parsed: z.unknown(),
  parseFailure: z.boolean(),
  note: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  turns: z.number(),
  toolCalls: z.number(),
  failedToolCalls: z.number(),
  toolCallsByName: z.record(z.string(), z.number()),
  visualTokens: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  latencyMs: z.number(),
  finishedAt: z.string(),
});

export type ItemRecord = z.infer<typeof itemRecordSchema>;

export interface ResultsFile {
  header: ResultsHeader | null;
  records: ItemRecord[];
}

export const recordKey = (id: string, mode: EvalMode) => `${mode}\0${id}`;

/** Reads a results file, cutting off a torn last line (what a kill mid-write leaves). */
export function readResults(file: string, options: { repair?: boolean } = {}): ResultsFile {
  if (!existsSync(file)) return { header: null, records: [] };
  const text = readFileSync(file, "utf8");
  const complete = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1);
  if (complete.length !== text.length && options.repair) truncateSync(file, Buffer.byteLength(complete));
  const lines = complete.split("\n").filter((line) => line.trim() !== "");
  let header: ResultsHeader | null = null;
  const records: ItemRecord[] = [];
  lines.forEach((line, index) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new SquintError("INVALID_ARGUMENT", `${file}:${index + 1} is not JSON.`, {
        hint: "The results file was edited or damaged; move it away to start the run afresh.",
      });
    }
    const parsed = index === 0 ? headerSchema.safeParse(value) : itemRecordSchema.safeParse(value);
    if (!parsed.success) {
      throw new SquintError("INVALID_ARGUMENT", `${file}:${index + 1} is not a squint eval results line.`, {
        hint: "Give a report directory written by `squint eval`, or a fresh --out directory.",
      });
    }
    if (index === 0) header = parsed.data as ResultsHeader;
    else records.push(parsed.data as ItemRecord);
  });
  return { header, records };
}

export function appendLine(file: string, value: unknown): void {
  appendFileSync(file, `${JSON.stringify(value)}\n`);
}

/** What differs between two knob sets, as "name: a → b" lines (empty when they agree). */
export function knobDifferences(before: EvalKnobs, after: EvalKnobs): string[] {
  const flat = (value: unknown, prefix: string, out: Map<string, string>) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) flat(inner, prefix ? `${prefix}.${key}` : key, out);
    } else out.set(prefix, JSON.stringify(value));
    return out;
  };
  const a = flat(before, "", new Map());
  const b = flat(after, "", new Map());
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((key) => a.get(key) !== b.get(key)).map((key) => `${key}: ${a.get(key)} → ${b.get(key)}`);
}
