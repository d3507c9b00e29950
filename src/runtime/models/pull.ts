import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { downloadFile, fileDownloadInfo, type ListFileEntry, listFiles, modelInfo } from "@huggingface/hub";
import { z } from "zod";
import { isSquintError, SquintError } from "../../errors.js";
import type { BuildDtype } from "../../model/graph/contract.js";
import { buildIntoStore, isBuiltDir } from "./build-into-store.js";
import { DEFAULT_MODEL_DTYPE, parseHubId, storePaths } from "./store-paths.js";

/**
 * `squint models pull`: downloads a Qwen3-VL checkpoint from the Hugging Face Hub with @huggingface/hub,
 * pinned to the commit its revision points at, file by file: a partial file is resumed with a range
 * request, every file is checked against the hash the Hub lists for it (sha256 of an LFS object, also
 * given as X-Linked-ETag; git's blob sha1 for small files) before it takes its final name, and the
 * checkpoint is then built into the store (resolve-model.ts describes the layout).
 */

/** The files a checkpoint needs; weights are every *.safetensors. */
const WANTED = new Set([
  "config.json",
  "model.safetensors.index.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "preprocessor_config.json",
  "video_preprocessor_config.json",
  "generation_config.json",
  "chat_template.json",
  "chat_template.jinja",
  "vocab.json",
  "merges.txt",
]);

export function wantedFile(path: string): boolean {
  return !path.includes("/") && (WANTED.has(path) || path.endsWith(".safetensors"));
}

export type PullProgress =
  | { stage: "resolve"; repo: string; revision: string; commit: string; files: number; bytes: number }
  | { stage: "download"; file: string; received: number; total: number; resumedFrom: number }
  | { stage: "verified"; file: string; skipped: boolean }
  | { stage: "build"; message: string }
  | { stage: "done"; checkpointDir: string; builtDir?: string | undefined };

export interface PullOptions {
  revision?: string | undefined;
  dtype?: BuildDtype | undefined;
  /** Hub endpoint (default https://huggingface.co; tests point it at a local server). */
  hubUrl?: string | undefined;
  /** Hugging Face token for gated repos (default $HF_TOKEN). */
  accessToken?: string | undefined;
  home?: string | undefined;
  /** Build the graphs after downloading (default true). */
  build?: boolean | undefined;
  fetch?: typeof fetch | undefined;
  onProgress?: ((event: PullProgress) => void) | undefined;
}

export interface PullResult {
  repo: string;
  commit: string;
  checkpointDir: string;
  builtDir?: string | undefined;
  /** Bytes fetched over the network by this pull (resumed parts excluded). */
  downloadedBytes: number;
}

const VERIFIED_FILE = ".squint-verified.json";
const verifiedSchema = z.record(z.string(), z.string());

function hubError(error: unknown, what: string): SquintError {
  if (isSquintError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const status =
    typeof error === "object" && error !== null && "statusCode" in error
      ? (error as { statusCode: unknown }).statusCode
      : undefined;
  if (status === 401 || status === 403) {
    return new SquintError("UNAUTHORIZED", `The Hub refused ${what}: ${message}`, {
      hint: "For a gated or private repo, accept its terms on huggingface.co and set HF_TOKEN.",
      cause: error,
    });
  }
  if (status === 404) {
    return new SquintError("NOT_FOUND", `The Hub has no ${what}: ${message}`, {
      hint: "Check the repo id and --revision (e.g. Qwen/Qwen3-VL-2B-Thinking).",
      cause: error,
    });
  }
  return new SquintError("DOWNLOAD_FAILED", `Could not fetch ${what}: ${message}`, {
    hint: "Check the network and run the same pull again; finished files are kept and a partial file resumes.",
    cause: error,
  });
}

/** The hash a file must have, as the Hub lists it. */
interface ExpectedHash {
  algorithm: "sha256" | "git-sha1";
  hex: string;
}

function expectedHash(entry: ListFileEntry): ExpectedHash | undefined {
  if (entry.lfs?.oid) return { algorithm: "sha256", hex: entry.lfs.oid.toLowerCase() };
  if (entry.oid) return { algorithm: "git-sha1", hex: entry.oid.toLowerCase() };
  return undefined;
}

function newHasher(expected: ExpectedHash | undefined, size: number): Hash {
  if (expected?.algorithm === "git-sha1") return createHash("sha1").update(`blob ${size}\0`);
  return createHash("sha256");
}

/** An ETag that is a sha256 (the Hub's X-Linked-ETag of an LFS file), without quotes or a weak prefix. */
function etagSha256(etag: string | undefined): string | undefined {
  const bare = etag?.replace(/^W\//, "").replace(/"/g, "").toLowerCase();
  return bare && /^[0-9a-f]{64}$/.test(bare) ? bare : undefined;
}

async function hashExisting(path: string, hasher: Hash): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    createReadStream(path)
      .on("data", (chunk) => hasher.update(chunk))
      .on("end", resolve)
      .on("error", reject);
  });
}

export async function pullModel(repoId: string, options: PullOptions = {}): Promise<PullResult> {
  const repo = parseHubId(repoId);
  const revision = options.revision ?? "main";
  const dtype = options.dtype ?? DEFAULT_MODEL_DTYPE;
  const paths = storePaths(options.home);
  const accessToken = options.accessToken ?? process.env.HF_TOKEN ?? undefined;
  const hub = {
    ...(options.hubUrl === undefined ? {} : { hubUrl: options.hubUrl.replace(/\/+$/, "") }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(accessToken ? { accessToken } : {}),
  };

  let commit: string;
  try {
    const info = await modelInfo({ name: repo.id, revision, additionalFields: ["sha"], ...hub });
    commit = z
      .string()
      .regex(/^[0-9a-f]{40}$/)
      .parse((info as { sha?: unknown }).sha);
  } catch (error) {
    throw hubError(error, `model ${repo.id}@${revision}`);
  }
  const entries: ListFileEntry[] = [];
  try {
    for await (const entry of listFiles({
      repo: { type: "model", name: repo.id },
      revision: commit,
      recursive: true,
      ...hub,
    })) {
      if (entry.type === "file" && wantedFile(entry.path)) entries.push(entry);
    }
  } catch (error) {
    throw hubError(error, `file list of ${repo.id}@${commit}`);
  }
  if (
    !entries.some((entry) => entry.path === "config.json") ||
    !entries.some((entry) => entry.path.endsWith(".safetensors"))
  ) {
    throw new SquintError("NOT_QWEN3_VL", `${repo.id} has no config.json + safetensors weights at ${revision}.`, {
      hint: "Pull a Transformers-format Qwen3-VL repo such as Qwen/Qwen3-VL-2B-Thinking.",
    });
  }
  const total = entries.reduce((sum, entry) => sum + (entry.lfs?.size ?? entry.size), 0);
  options.onProgress?.({ stage: "resolve", repo: repo.id, revision, commit, files: entries.length, bytes: total });

  const checkpointDir = paths.checkpoint(repo, commit);
  await mkdir(checkpointDir, { recursive: true });
  const verifiedPath = join(checkpointDir, VERIFIED_FILE);
  const verified: Record<string, string> = existsSync(verifiedPath)
    ? (verifiedSchema.safeParse(JSON.parse(await readFile(verifiedPath, "utf8"))).data ?? {})
    : {};
  let downloadedBytes = 0;
  for (const entry of entries) {
    const expected = expectedHash(entry);
    const size = entry.lfs?.size ?? entry.size;
    const dest = join(checkpointDir, entry.path);
    if (expected && verified[entry.path] === expected.hex && existsSync(dest) && (await stat(dest)).size === size) {
      options.onProgress?.({ stage: "verified", file: entry.path, skipped: true });
      continue;
    }
    downloadedBytes += await downloadVerified(repo.id, commit, entry.path, size, expected, dest, hub, options);
    if (expected) {
      verified[entry.path] = expected.hex;
      await writeFile(verifiedPath, `${JSON.stringify(verified, null, 2)}\n`);
    }
    options.onProgress?.({ stage: "verified", file: entry.path, skipped: false });
  }
  const ref = paths.ref(repo, revision);
  await mkdir(dirname(ref), { recursive: true });
  await writeFile(ref, `${commit}\n`);

  let builtDir: string | undefined;
  if (options.build !== false) {
    builtDir = paths.built(repo, commit, dtype);
    if (!isBuiltDir(builtDir)) {
      await buildIntoStore(
        checkpointDir,
        builtDir,
        dtype,
        { source: repo.id, kind: "hub", revision, commit },
        (event) => options.onProgress?.(event),
      );
    }
  }
  options.onProgress?.({ stage: "done", checkpointDir, builtDir });
  return { repo: repo.id, commit, checkpointDir, builtDir, downloadedBytes };
}

/** Downloads one file into `<dest>.incomplete` (resuming what is there), checks it, renames it. */
async function downloadVerified(
  repoId: string,
  commit: string,
  path: string,
  size: number,
  expected: ExpectedHash | undefined,
  dest: string,
  hub: { hubUrl?: string; fetch?: typeof fetch; accessToken?: string },
  options: PullOptions,
): Promise<number> {
  const partial = `${dest}.incomplete`;
  await mkdir(dirname(dest), { recursive: true });
  let offset = existsSync(partial) ? (await stat(partial)).size : 0;
  if (offset > size) {
    await rm(partial);
    offset = 0;
  }
  const repo = { type: "model" as const, name: repoId };
  let blob: Blob | null;
  try {
    const info = await fileDownloadInfo({ repo, path, revision: commit, ...hub });
    if (info === null) throw new SquintError("NOT_FOUND", `${repoId}@${commit} lists ${path} but does not serve it.`);
    const linked = etagSha256(info.etag);
    if (expected?.algorithm === "sha256" && linked !== undefined && linked !== expected.hex) {
      throw new SquintError(
        "DOWNLOAD_FAILED",
        `${path}: the Hub's ETag ${linked} disagrees with the listed sha256 ${expected.hex}.`,
        {
          hint: "The repo changed while pulling; run the pull again.",
        },
      );
    }
    if (info.size !== size) {
      throw new SquintError("DOWNLOAD_FAILED", `${path}: the Hub serves ${info.size} bytes but lists ${size}.`, {
        hint: "The repo changed while pulling; run the pull again.",
      });
    }
    blob = await downloadFile({ repo, path, revision: commit, downloadInfo: info, xet: false, ...hub });
  } catch (error) {
    throw hubError(error, `${path} of ${repoId}`);
  }
  if (blob === null) throw new SquintError("NOT_FOUND", `${repoId}@${commit} has no ${path}.`);

  const hasher = newHasher(expected, size);
  if (offset > 0) await hashExisting(partial, hasher);
  let received = offset;
  options.onProgress?.({ stage: "download", file: path, received, total: size, resumedFrom: offset });
  if (offset < size) {
    const out = createWriteStream(partial, { flags: offset > 0 ? "a" : "w" });
    try {
      const reader = (offset > 0 ? blob.slice(offset) : blob).stream().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        hasher.update(value);
        received += value.length;
        if (!out.write(value)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
        options.onProgress?.({ stage: "download", file: path, received, total: size, resumedFrom: offset });
      }
    } catch (error) {
      throw hubError(error, `${path} of ${repoId} (${received} of ${size} bytes kept for resuming)`);
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
  }
  if (received !== size) {
    throw new SquintError("DOWNLOAD_FAILED", `${path}: the download stopped at ${received} of ${size} bytes.`, {
      hint: "Run the same pull again; it resumes from where it stopped.",
    });
  }
  const digest = hasher.digest("hex");
  if (expected && digest !== expected.hex) {
    await rm(partial, { force: true });
    throw new SquintError(
      "DOWNLOAD_FAILED",
      `${path} is corrupt: its ${expected.algorithm} is ${digest}, the Hub lists ${expected.hex}.`,
      {
        hint: "The damaged file was deleted; run the pull again.",
        details: { file: path, expected: expected.hex, actual: digest },
      },
    );
  }
  await rename(partial, dest);
  return received - offset;
}
