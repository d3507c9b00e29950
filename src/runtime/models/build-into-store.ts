import { copyFile, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { buildModel } from "../../model/graph/build.js";
import { type Attention, type BuildDtype, buildDtypeSchema, MANIFEST_FILE } from "../../model/graph/contract.js";
import { providerCandidates } from "../local/execution-provider.js";
import { CHECKPOINT_SIDE_FILES } from "../local/model-files.js";

/**
 * The decoder attention a store build gets: "append" (no per-step cache copy, CPU only) where the engine
 * would run on the CPU anyway, "plain" (runs on every provider, the cache stays on the device) where a GPU
 * provider is there to use.
 */
export function storeAttention(): Attention {
  return providerCandidates("auto")[0] === "cpu" ? "append" : "plain";
}

/**
 * Builds a checkpoint into a store folder that runs on its own: the graphs and manifest, the checkpoint's
 * config/tokenizer/processor files beside them, and a record of where it came from. Written to a scratch
 * folder and renamed into place, so an interrupted build never leaves a folder that looks finished.
 */

export const RECORD_FILE = "squint-model.json";

export const modelRecordSchema = z.object({
  /** Hub id, or the checkpoint directory for local builds. */
  source: z.string(),
  kind: z.enum(["hub", "local"]),
  revision: z.string().optional(),
  commit: z.string().optional(),
  dtype: buildDtypeSchema,
  builtAt: z.string(),
});
export type ModelRecord = z.infer<typeof modelRecordSchema>;

export type BuildProgress = (event: { stage: "build"; message: string }) => void;

export async function buildIntoStore(
  checkpointDir: string,
  outDir: string,
  dtype: BuildDtype,
  record: Omit<ModelRecord, "builtAt" | "dtype">,
  onProgress?: BuildProgress,
): Promise<string> {
  const scratch = `${outDir}.building-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(dirname(outDir), { recursive: true });
  try {
    onProgress?.({ stage: "build", message: `building ${dtype} graphs from ${checkpointDir}` });
    await buildModel(checkpointDir, scratch, { dtype, lastTokenLogits: true, attention: storeAttention() });
    for (const file of CHECKPOINT_SIDE_FILES) {
      const from = join(checkpointDir, file);
      if (existsSync(from)) await copyFile(from, join(scratch, file));
    }
    const full: ModelRecord = { ...record, dtype, builtAt: new Date().toISOString() };
    await writeFile(join(scratch, RECORD_FILE), `${JSON.stringify(full, null, 2)}\n`);
    await rm(outDir, { recursive: true, force: true });
    await rename(scratch, outDir);
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
  return outDir;
}

export function isBuiltDir(dir: string): boolean {
  return existsSync(join(dir, MANIFEST_FILE));
}
