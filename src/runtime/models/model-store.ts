import { existsSync } from "node:fs";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { SquintError } from "../../errors.js";
import { type BuildDtype, buildDtypeSchema } from "../../model/graph/contract.js";
import { isBuiltDir, modelRecordSchema, RECORD_FILE } from "./build-into-store.js";
import { folderRepo, isHubId, parseHubId, repoFolder, storePaths } from "./store-paths.js";

/** `squint models list` / `rm`: what the store holds, and removing it. */

export interface StoredModel {
  /** Hub id, or the checkpoint directory a local build came from. */
  id: string;
  kind: "hub" | "local";
  /** Built dtype, or undefined for a downloaded checkpoint not built yet. */
  dtype?: BuildDtype;
  commit?: string;
  /** Revisions (branches, tags) that point at this commit. */
  revisions: string[];
  dir: string;
  bytes: number;
}

async function subdirs(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.includes(".building-"))
    .map((entry) => entry.name);
}

export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}

async function refsByCommit(home: string, folder: string): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  const dir = join(home, "refs", folder);
  if (!existsSync(dir)) return map;
  for (const name of await readdir(dir)) {
    const commit = (await readFile(join(dir, name), "utf8")).trim();
    map.set(commit, [...(map.get(commit) ?? []), decodeURIComponent(name)]);
  }
  return map;
}

export async function listModels(home?: string): Promise<StoredModel[]> {
  const paths = storePaths(home);
  const out: StoredModel[] = [];
  const repoFolders = new Set([
    ...(await subdirs(join(paths.home, "models"))),
    ...(await subdirs(join(paths.home, "checkpoints"))),
  ]);
  for (const folder of [...repoFolders].sort()) {
    const id = folderRepo(folder);
    if (id === undefined) continue;
    const refs = await refsByCommit(paths.home, folder);
    const commits = new Set([
      ...(await subdirs(join(paths.home, "models", folder))),
      ...(await subdirs(join(paths.home, "checkpoints", folder))),
    ]);
    for (const commit of commits) {
      const revisions = refs.get(commit) ?? [];
      const builtRoot = join(paths.home, "models", folder, commit);
      const dtypes = (await subdirs(builtRoot)).filter(
        (name) => buildDtypeSchema.safeParse(name).success && isBuiltDir(join(builtRoot, name)),
      );
      for (const dtype of dtypes) {
        const dir = join(builtRoot, dtype);
        out.push({
          id,
          kind: "hub",
          dtype: dtype as BuildDtype,
          commit,
          revisions,
          dir,
          bytes: await directoryBytes(dir),
        });
      }
      const checkpoint = join(paths.home, "checkpoints", folder, commit);
      if (existsSync(checkpoint)) {
        out.push({ id, kind: "hub", commit, revisions, dir: checkpoint, bytes: await directoryBytes(checkpoint) });
      }
    }
  }
  for (const hash of await subdirs(join(paths.home, "local"))) {
    for (const dtype of await subdirs(join(paths.home, "local", hash))) {
      const dir = join(paths.home, "local", hash, dtype);
      if (!isBuiltDir(dir)) continue;
      let source = hash;
      try {
        source = modelRecordSchema.parse(JSON.parse(await readFile(join(dir, RECORD_FILE), "utf8"))).source;
      } catch {
        // A build without its record is still listed, by its folder name.
      }
      out.push({
        id: source,
        kind: "local",
        dtype: dtype as BuildDtype,
        revisions: [],
        dir,
        bytes: await directoryBytes(dir),
      });
    }
  }
  return out;
}

export interface RemoveOptions {
  home?: string | undefined;
  /** Only this build; the download and other builds stay. */
  dtype?: BuildDtype | undefined;
}

export interface RemoveResult {
  removed: string[];
  bytes: number;
}

/** Removes a Hub model (downloads, builds, refs) or the local builds of a checkpoint directory. */
export async function removeModel(id: string, options: RemoveOptions = {}): Promise<RemoveResult> {
  const paths = storePaths(options.home);
  const stored = await listModels(options.home);
  const matching = stored.filter(
    (model) => model.id === id && (options.dtype === undefined || model.dtype === options.dtype),
  );
  if (matching.length === 0) {
    throw new SquintError(
      "NOT_FOUND",
      `The model store has no ${options.dtype ? `${options.dtype} build of ` : ""}${id}.`,
      {
        hint: "`squint models list` shows what is stored.",
      },
    );
  }
  const result: RemoveResult = { removed: [], bytes: 0 };
  for (const model of matching) {
    await rm(model.dir, { recursive: true, force: true });
    result.removed.push(model.dir);
    result.bytes += model.bytes;
  }
  if (isHubId(id) && options.dtype === undefined) {
    const folder = repoFolder(parseHubId(id));
    for (const dir of [
      join(paths.home, "models", folder),
      join(paths.home, "checkpoints", folder),
      join(paths.home, "refs", folder),
    ]) {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return result;
}
