import { createHash } from "node:crypto";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { SquintError } from "../../errors.js";
import { INDEX_FILE, SINGLE_FILE } from "../../model/checkpoint/checkpoint.js";
import type { BuildDtype } from "../../model/graph/contract.js";
import { type BuildProgress, buildIntoStore, isBuiltDir } from "./build-into-store.js";
import { DEFAULT_MODEL_DTYPE, isHubId, parseHubId, type StorePaths, storePaths } from "./store-paths.js";

/**
 * A model argument anywhere in Squint: a Hub id that was pulled (`Qwen/Qwen3-VL-2B-Thinking`), a checkpoint
 * directory (config.json + safetensors; built into the store on first use) or a built directory
 * (manifest.json). Nothing is downloaded here: a Hub id that was never pulled is an error that says to pull.
 */

export interface ResolvedModel {
  /** Folder with manifest.json and the graphs. */
  builtDir: string;
  /** Folder with config.json and the tokenizer (the built folder itself for store builds). */
  filesDir: string;
  kind: "hub" | "checkpoint" | "built";
  /** Display name: the Hub id or the directory. */
  name: string;
  dtype?: BuildDtype;
}

export interface ResolveModelOptions {
  /** Weight storage to use or build (default int4). A built directory is used as it is. */
  dtype?: BuildDtype | undefined;
  /** Hub revision (branch, tag or commit) that was pulled; default main. */
  revision?: string | undefined;
  /** Build a checkpoint directory (or a pulled, unbuilt Hub checkpoint) when no build exists. Default true. */
  build?: boolean | undefined;
  home?: string | undefined;
  onProgress?: BuildProgress | undefined;
}

export function isCheckpointDir(dir: string): boolean {
  return (
    existsSync(join(dir, "config.json")) && (existsSync(join(dir, SINGLE_FILE)) || existsSync(join(dir, INDEX_FILE)))
  );
}

/** The commit a pulled revision resolved to, or undefined. */
export function pulledCommit(paths: StorePaths, repoId: string, revision: string): string | undefined {
  const repo = parseHubId(repoId);
  if (/^[0-9a-f]{40}$/.test(revision) && existsSync(paths.checkpoint(repo, revision))) return revision;
  const ref = paths.ref(repo, revision);
  return existsSync(ref) ? readFileSync(ref, "utf8").trim() : undefined;
}

export async function resolveModel(arg: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const dtype = options.dtype ?? DEFAULT_MODEL_DTYPE;
  const paths = storePaths(options.home);
  const asPath = resolve(arg);
  if (existsSync(asPath) && statSync(asPath).isDirectory()) {
    if (isBuiltDir(asPath)) {
      // A built folder made by `squint models build` may lack the tokenizer: look beside the checkpoint then.
      return { builtDir: asPath, filesDir: asPath, kind: "built", name: asPath };
    }
    if (isCheckpointDir(asPath)) {
      const real = realpathSync(asPath);
      const config = readFileSync(join(real, "config.json"));
      const hash = createHash("sha256").update(real).update("\0").update(config).digest("hex").slice(0, 16);
      const out = paths.local(hash, dtype);
      if (!isBuiltDir(out)) {
        if (options.build === false) throw notBuilt(arg, dtype);
        await buildIntoStore(real, out, dtype, { source: real, kind: "local" }, options.onProgress);
      }
      return { builtDir: out, filesDir: out, kind: "checkpoint", name: asPath, dtype };
    }
    throw new SquintError("NOT_FOUND", `${arg} is neither a Qwen3-VL checkpoint nor a built Squint model.`, {
      hint: "A checkpoint has config.json and model.safetensors (or model.safetensors.index.json); a built model has manifest.json.",
    });
  }
  if (isHubId(arg)) {
    const repo = parseHubId(arg);
    const revision = options.revision ?? "main";
    const commit = pulledCommit(paths, arg, revision);
    if (commit === undefined) {
      throw new SquintError("NOT_FOUND", `${arg}${revision === "main" ? "" : `@${revision}`} has not been pulled.`, {
        hint: `Run \`squint models pull ${arg}${revision === "main" ? "" : ` --revision ${revision}`}\` first (Squint never downloads at run time).`,
      });
    }
    const out = paths.built(repo, commit, dtype);
    if (!isBuiltDir(out)) {
      const checkpoint = paths.checkpoint(repo, commit);
      if (options.build === false || !isCheckpointDir(checkpoint)) throw notBuilt(arg, dtype);
      await buildIntoStore(checkpoint, out, dtype, { source: arg, kind: "hub", revision, commit }, options.onProgress);
    }
    return { builtDir: out, filesDir: out, kind: "hub", name: arg, dtype };
  }
  throw new SquintError("NOT_FOUND", `No model directory or Hub id "${arg}".`, {
    hint: "Pass a checkpoint directory, a built model directory, or a pulled Hub id such as Qwen/Qwen3-VL-2B-Thinking.",
  });
}

function notBuilt(arg: string, dtype: BuildDtype): SquintError {
  return new SquintError("NOT_FOUND", `No ${dtype} build of ${arg} in the model store.`, {
    hint: `Run \`squint models pull ${arg} --dtype ${dtype}\` (or pass the checkpoint directory to build it).`,
  });
}
