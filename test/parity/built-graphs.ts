import { createHash } from "node:crypto";
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildOptions } from "../../src/model/graph/build.js";
import { buildModel } from "../../src/model/graph/build.js";
import { pruneStale, sourceStamp } from "../support/source-stamp.js";
import { generatedRoot } from "../support/tiny-checkpoint.js";

const DONE = ".complete";

/** The code the graphs are made by (the builder and what it imports from src/model). */
const BUILDER_SOURCES = ["src/model/graph", "src/model/checkpoint", "src/model/config.ts", "src/model/mrope.ts"];

/**
 * Builds the three graphs for a checkpoint with the given options into test/.generated/, once: later
 * calls (from this file or another test process) reuse the finished folder.
 */
export async function builtGraphs(checkpointDir: string, options: BuildOptions): Promise<string> {
  const stamp = sourceStamp(BUILDER_SOURCES);
  const key = createHash("sha256").update(JSON.stringify({ checkpointDir, options })).digest("hex").slice(0, 12);
  const dir = join(generatedRoot, `parity-graphs-${stamp}-${options.dtype}-${options.mutation ?? "spec"}-${key}`);
  if (existsSync(join(dir, DONE))) return dir;
  pruneStale(generatedRoot, "parity-graphs-", stamp);
  const scratch = `${dir}.tmp-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  await buildModel(checkpointDir, scratch, options);
  writeFileSync(join(scratch, DONE), `${JSON.stringify(options)}\n`);
  try {
    renameSync(scratch, dir);
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(join(dir, DONE))) throw error;
  }
  return dir;
}
