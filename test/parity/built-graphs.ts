import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildOptions } from "../../src/model/graph/build.js";
import { buildModel } from "../../src/model/graph/build.js";
import { repoRoot } from "../support/cli.js";
import { generatedRoot } from "../support/tiny-checkpoint.js";

const DONE = ".complete";

/** A hash of the graph builder's sources, so a change to the builder rebuilds instead of reusing. */
function builderStamp(): string {
  const hash = createHash("sha256");
  for (const folder of ["src/model/graph", "src/model/checkpoint"]) {
    const dir = join(repoRoot, folder);
    for (const file of readdirSync(dir).sort())
      if (file.endsWith(".ts")) hash.update(file).update(readFileSync(join(dir, file)));
  }
  return hash.digest("hex").slice(0, 12);
}

/**
 * Builds the three graphs for a checkpoint with the given options into test/.generated/, once: later
 * calls (from this file or another test process) reuse the finished folder.
 */
export async function builtGraphs(checkpointDir: string, options: BuildOptions): Promise<string> {
  const key = createHash("sha256")
    .update(JSON.stringify({ checkpointDir, options, stamp: builderStamp() }))
    .digest("hex")
    .slice(0, 16);
  const dir = join(generatedRoot, `graphs-${options.dtype}-${options.mutation ?? "spec"}-${key}`);
  if (existsSync(join(dir, DONE))) return dir;
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
