import { z } from "zod";
import { SquintError } from "../errors.js";
import { decodeImage } from "../model/image-decode.js";
import type { Affine } from "../tools/geometry.js";
import type { ImageStore } from "../tools/store/image-store.js";
import type { AgentContext } from "./context.js";

/**
 * A run, frozen as JSON: the machine's persisted snapshot (its context is the conversation, the image index,
 * the trace and the budgets) plus the pixels of every image the conversation refers to, with their lineage,
 * so that a fresh process with an empty image store can resume the run and still map boxes to the originals.
 * Images are stored as PNG (lossless: the resumed run sees exactly the same pixels).
 */

export const SNAPSHOT_FORMAT = "squint-agent-snapshot";

/**
 * 2: the AI SDK's names in the context (inputTokens/outputTokens; calls as toolCallId/toolName/input).
 * 1: the names before that; read by migrating (migrateV1Machine), never written.
 */
export const SNAPSHOT_VERSION = 2;

const affineSchema = z.object({
  a: z.number(),
  b: z.number(),
  c: z.number(),
  d: z.number(),
  e: z.number(),
  f: z.number(),
});

const snapshotImageSchema = z.object({
  id: z.string(),
  operation: z.string(),
  parentId: z.string().optional(),
  label: z.string().optional(),
  toParent: affineSchema,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  png: z.string().min(1),
});

export const agentSnapshotSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  version: z.literal(SNAPSHOT_VERSION),
  takenAt: z.string(),
  /** XState's persisted snapshot; its `context` is an AgentContext. */
  machine: z.record(z.string(), z.unknown()),
  images: z.array(snapshotImageSchema),
});

export type AgentSnapshot = z.infer<typeof agentSnapshotSchema>;
export type SnapshotImage = z.infer<typeof snapshotImageSchema>;

/** Collects the images a context refers to, ancestors first, encoded as PNG. */
export async function snapshotImages(context: AgentContext, store: ImageStore): Promise<SnapshotImage[]> {
  const ordered: string[] = [];
  const seen = new Set<string>();
  for (const entry of context.images) {
    const chain = store.lineage(entry.storeId).reverse();
    for (const image of chain) {
      if (seen.has(image.id)) continue;
      seen.add(image.id);
      ordered.push(image.id);
    }
  }
  return Promise.all(
    ordered.map(async (id) => {
      const info = store.get(id);
      const png = await store.encode(id, "png");
      return {
        id,
        operation: info.operation,
        ...(info.parentId === undefined ? {} : { parentId: info.parentId }),
        ...(info.label === undefined ? {} : { label: info.label }),
        toParent: info.toParent as Affine,
        width: info.width,
        height: info.height,
        png: png.toString("base64"),
      };
    }),
  );
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A copy of `object` with the keys in `names` renamed (old → new); other keys as they were. */
function renameKeys(object: unknown, names: Record<string, string>): unknown {
  if (!isObject(object)) return object;
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [names[key] ?? key, value]));
}

const V1_USAGE = { promptTokens: "inputTokens", completionTokens: "outputTokens" };
const V1_CALL = { callId: "toolCallId", name: "toolName", arguments: "input" };

/** A version-1 machine snapshot with its context in version 2's names (the machine's states are unchanged). */
export function migrateV1Machine(machine: Json): Json {
  const context = machine.context;
  if (!isObject(context)) return machine;
  const mapArray = (value: unknown, each: (item: unknown) => unknown) =>
    Array.isArray(value) ? value.map(each) : value;
  const migrated = renameKeys(context, V1_USAGE) as Json;
  migrated.trace = mapArray(context.trace, (step) => {
    const renamed = renameKeys(step, V1_USAGE);
    if (!isObject(renamed)) return renamed;
    return { ...renamed, calls: mapArray(renamed.calls, (call) => renameKeys(call, V1_CALL)) };
  });
  migrated.lastTurn = renameKeys(context.lastTurn, V1_USAGE);
  migrated.lastCalls = mapArray(context.lastCalls, (call) => renameKeys(call, V1_CALL));
  return { ...machine, context: migrated };
}

/** Reads an unknown value (parsed JSON) as a snapshot (migrating older versions), or says why it is not one. */
export function parseSnapshot(value: unknown): AgentSnapshot {
  if (isObject(value) && value.format === SNAPSHOT_FORMAT) {
    if (typeof value.version === "number" && value.version > SNAPSHOT_VERSION) {
      throw new SquintError(
        "INVALID_ARGUMENT",
        `This snapshot is version ${value.version}; this Squint reads versions 1 to ${SNAPSHOT_VERSION}.`,
        { hint: "Resume it with the Squint version that took it (or a newer one)." },
      );
    }
    if (value.version === 1 && isObject(value.machine)) {
      value = { ...value, version: SNAPSHOT_VERSION, machine: migrateV1Machine(value.machine) };
    }
  }
  const parsed = agentSnapshotSchema.safeParse(value);
  if (!parsed.success) {
    throw new SquintError("INVALID_ARGUMENT", "This is not a Squint agent snapshot (or it is from another version).", {
      hint: "Pass the JSON that run.snapshot() produced, unchanged.",
      details: { issues: parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join(".")}: ${issue.message}`) },
    });
  }
  return parsed.data;
}

/**
 * Puts a snapshot's images into `store` (which may already hold other images) and returns the machine
 * snapshot with every old image id replaced by its new one.
 */
export async function restoreSnapshotImages(
  snapshot: AgentSnapshot,
  store: ImageStore,
): Promise<Record<string, unknown>> {
  const ids = new Map<string, string>();
  for (const image of snapshot.images) {
    const bytes = Buffer.from(image.png, "base64");
    if (image.parentId === undefined) {
      const info = await store.ingest(bytes, { source: "snapshot" });
      ids.set(image.id, info.id);
      continue;
    }
    const parent = ids.get(image.parentId);
    if (parent === undefined) {
      throw new SquintError(
        "INVALID_ARGUMENT",
        `Snapshot image ${image.id} comes before its parent ${image.parentId}.`,
        {
          hint: "The snapshot was edited or truncated; take a new one.",
        },
      );
    }
    const pixels = await decodeImage(bytes);
    const info = store.derive(parent, pixels, {
      operation: image.operation,
      toParent: image.toParent,
      ...(image.label === undefined ? {} : { label: image.label }),
    });
    ids.set(image.id, info.id);
  }
  // Ids appear as whole JSON strings (image parts, the image index, the trace) or inside squint:// links.
  const json = JSON.stringify(snapshot.machine).replace(/"((?:[^"\\]|\\.)*)"/g, (whole, text: string) => {
    const direct = ids.get(text);
    if (direct !== undefined) return JSON.stringify(direct);
    const link = /^(squint:\/\/images\/)(.+)$/.exec(text);
    const linked = link ? ids.get(decodeURIComponent(link[2])) : undefined;
    return linked === undefined ? whole : JSON.stringify(`${link?.[1]}${encodeURIComponent(linked)}`);
  });
  return JSON.parse(json) as Record<string, unknown>;
}
