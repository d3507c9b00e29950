import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./cli.js";

/**
 * A short hash of the given source files and folders (every .ts file below a folder, recursively), for
 * cache keys of generated test artefacts: when the code that makes an artefact changes, the artefact is
 * made again instead of a test passing on a stale one.
 */
export function sourceStamp(paths: readonly string[]): string {
  const hash = createHash("sha256");
  const visit = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name));
    } else if (path.endsWith(".ts")) {
      hash.update(path.slice(repoRoot.length)).update(readFileSync(path));
    }
  };
  for (const p of paths) {
    const full = join(repoRoot, p);
    if (existsSync(full)) visit(full);
    else hash.update(`missing:${p}`);
  }
  return hash.digest("hex").slice(0, 12);
}

/** Artefacts another test process may still be reading are left alone for this long. */
const STALE_AFTER_MS = 15 * 60 * 1000;

/**
 * Removes `<prefix><stamp>-…` folders in `root` made from other source stamps, once they are old enough
 * not to be in use, so that a day of edits does not pile up hundreds of megabytes of graphs.
 */
export function pruneStale(root: string, prefix: string, currentStamp: string): void {
  if (!existsSync(root)) return;
  const now = Date.now();
  for (const name of readdirSync(root)) {
    if (!name.startsWith(prefix) || name.startsWith(`${prefix}${currentStamp}-`)) continue;
    const path = join(root, name);
    if (now - statSync(path).mtimeMs > STALE_AFTER_MS) rmSync(path, { recursive: true, force: true });
  }
}
