import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTinyCheckpoint, type TinyCheckpointOptions } from "../../src/model/checkpoint/tiny.js";
import { repoRoot } from "./cli.js";

/** Where generated test artefacts live (git-ignored). */
export const generatedRoot = join(repoRoot, "test", ".generated");

const DONE = ".complete";

/**
 * The generator's own source is part of the cache key, so a change to how tiny checkpoints are made
 * regenerates them instead of testing against a stale one.
 */
function generatorStamp(): string {
  const hash = createHash("sha256");
  for (const file of [
    "src/model/checkpoint/tiny.ts",
    "src/model/checkpoint/weight-names.ts",
    "src/model/checkpoint/safetensors.ts",
  ]) {
    const path = join(repoRoot, file);
    hash.update(existsSync(path) ? readFileSync(path) : file);
  }
  return hash.digest("hex").slice(0, 12);
}

/**
 * A tiny random checkpoint in test/.generated/, made once and reused by every test file (and run) that
 * asks for the same options. Test files run in parallel processes, so each writes into its own temporary
 * folder and renames it into place; the loser of a race discards its copy.
 */
export async function tinyCheckpoint(options: Omit<TinyCheckpointOptions, "tokenizer"> = {}): Promise<string> {
  const key = createHash("sha256")
    .update(JSON.stringify({ options, stamp: generatorStamp() }))
    .digest("hex")
    .slice(0, 16);
  const dir = join(generatedRoot, `tiny-${key}`);
  if (existsSync(join(dir, DONE))) return dir;
  mkdirSync(generatedRoot, { recursive: true });
  const scratch = `${dir}.tmp-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  await makeTinyCheckpoint(scratch, options);
  writeFileSync(join(scratch, DONE), `${JSON.stringify(options)}\n`);
  try {
    renameSync(scratch, dir);
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(join(dir, DONE))) throw error;
  }
  return dir;
}
