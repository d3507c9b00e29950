import { homedir } from "node:os";
import { join } from "node:path";
import { SquintError } from "../../errors.js";
import type { BuildDtype } from "../../model/graph/contract.js";

/**
 * Where models live on a user's machine:
 *
 *   <home>/checkpoints/<owner>--<name>/<commit>/   files downloaded from the Hub, as the repo has them
 *   <home>/models/<owner>--<name>/<commit>/<dtype>/ built graphs + manifest + the checkpoint's side files
 *   <home>/refs/<owner>--<name>/<revision>          the commit a revision (branch, tag) resolved to at pull time
 *   <home>/local/<hash>/<dtype>/                   graphs built from a checkpoint directory on disk
 *
 * <home> is $SQUINT_HOME, else $XDG_CACHE_HOME/squint, else ~/.cache/squint.
 */

/** The model `squint ask` uses when none is given: Qwen3-VL-2B-Thinking with int4 weights. */
export const DEFAULT_MODEL = "Qwen/Qwen3-VL-2B-Thinking";
export const DEFAULT_MODEL_DTYPE: BuildDtype = "int4";

export function squintHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SQUINT_HOME) return env.SQUINT_HOME;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "squint");
  return join(homedir(), ".cache", "squint");
}

const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function isHubId(value: string): boolean {
  return HUB_ID.test(value) && !value.includes("..");
}

export interface HubRepo {
  owner: string;
  name: string;
  /** owner/name */
  id: string;
}

export function parseHubId(value: string): HubRepo {
  if (!isHubId(value)) {
    throw new SquintError("INVALID_ARGUMENT", `"${value}" is not a Hugging Face repo id.`, {
      hint: "Use the owner/name form, e.g. Qwen/Qwen3-VL-2B-Thinking.",
    });
  }
  const [owner, name] = value.split("/") as [string, string];
  return { owner, name, id: value };
}

/** Folder name of a repo: `/` is not allowed in one, and `--` cannot occur in an owner name. */
export function repoFolder(repo: HubRepo): string {
  return `${repo.owner}--${repo.name}`;
}

export function folderRepo(folder: string): string | undefined {
  const at = folder.indexOf("--");
  return at > 0 ? `${folder.slice(0, at)}/${folder.slice(at + 2)}` : undefined;
}

/** A revision as a file name (branches may contain `/`). */
export function revisionFile(revision: string): string {
  return encodeURIComponent(revision);
}

export interface StorePaths {
  home: string;
  checkpoint(repo: HubRepo, commit: string): string;
  built(repo: HubRepo, commit: string, dtype: BuildDtype): string;
  ref(repo: HubRepo, revision: string): string;
  local(hash: string, dtype: BuildDtype): string;
}

export function storePaths(home: string = squintHome()): StorePaths {
  return {
    home,
    checkpoint: (repo, commit) => join(home, "checkpoints", repoFolder(repo), commit),
    built: (repo, commit, dtype) => join(home, "models", repoFolder(repo), commit, dtype),
    ref: (repo, revision) => join(home, "refs", repoFolder(repo), revisionFile(revision)),
    local: (hash, dtype) => join(home, "local", hash, dtype),
  };
}
