import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open, readlink, realpath, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { clipForMessage, SquintError } from "../../errors.js";

/**
 * Reading an image path under a root policy. The check is done on real paths (symlinks and ".." resolved)
 * on both sides, so a link inside an allowed directory that points outside it is refused, and so is a path
 * that only looks inside ("/allowed/../etc/passwd").
 *
 * Two races and one oracle are closed:
 * - the links are resolved by us, component by component, and a link that dangles is followed lexically, so a
 *   dangling link to a forbidden place and a link to an existing forbidden file give the same PATH_NOT_ALLOWED
 *   (otherwise NOT_FOUND vs PATH_NOT_ALLOWED tells whether a file outside the roots exists);
 * - a directory swapped for a symlink between the check and the open would make the open follow it: after
 *   opening, the file actually opened (/proc/self/fd on Linux, and its device and inode everywhere) must be
 *   the one the real path inside the roots names, else the read is refused as not allowed.
 */
function isInside(dir: string, candidate: string): boolean {
  const rel = relative(dir, candidate);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

async function realDirs(dirs: readonly string[]): Promise<string[]> {
  const real = await Promise.all(
    dirs.map(async (dir) => {
      try {
        return await realpath(dir);
      } catch {
        return undefined; // a root that does not exist allows nothing
      }
    }),
  );
  return real.filter((dir): dir is string => dir !== undefined);
}

function notAllowed(path: string, allowedDirs: readonly string[]): SquintError {
  // A bare word ("img-12") is most likely a stale image id that fell through to being read as a path.
  const maybeId = /^[\w-]{1,64}$/.test(path)
    ? ` If "${path}" is meant as an image id, no image has that id any more.`
    : "";
  return new SquintError(
    "PATH_NOT_ALLOWED",
    `The path "${clipForMessage(path)}" is outside the directories this server may read.`,
    {
      hint:
        (allowedDirs.length === 0
          ? "No directory is allowed yet: start the server with --allow <dir>, or use a client that shares its roots."
          : `Use a file under ${allowedDirs.join(", ")} (symlinks are followed before the check), or start the server with --allow <dir>.`) +
        maybeId,
      details: { allowedDirs: [...allowedDirs] },
    },
  );
}

/** Linux allows 40 links in one resolution; so do we. */
const MAX_LINKS = 40;

/**
 * Where `absolute` leads once every symlink in it is followed (as the kernel would), and whether that exists.
 * A link whose target is missing is still followed, lexically, so its destination can be checked.
 */
async function resolveLinks(absolute: string, path: string): Promise<{ path: string; exists: boolean }> {
  let pending = absolute.split(sep).filter((part) => part !== "");
  let current: string = sep;
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === ".") continue;
    if (name === "..") {
      current = dirname(current);
      continue;
    }
    const next = join(current, name);
    let isLink: boolean;
    try {
      isLink = (await lstat(next)).isSymbolicLink();
    } catch {
      return { path: join(next, ...pending), exists: false };
    }
    if (!isLink) {
      current = next;
      continue;
    }
    if (++links > MAX_LINKS) {
      throw new SquintError("INVALID_ARGUMENT", `"${clipForMessage(path)}" goes through too many symbolic links.`, {
        hint: "Pass the path of the image file itself.",
      });
    }
    let target: string;
    try {
      target = await readlink(next);
    } catch (cause) {
      // Swapped between the lstat and the readlink: no longer a link (EINVAL), or gone.
      if ((cause as NodeJS.ErrnoException).code === "EINVAL") {
        current = next;
        continue;
      }
      return { path: join(next, ...pending), exists: false };
    }
    if (isAbsolute(target)) current = sep;
    pending = [...target.split(sep).filter((part) => part !== ""), ...pending];
  }
  return { path: current, exists: true };
}

/** The path of the file an open handle refers to, from the kernel (Linux); undefined where there is no /proc. */
async function openedPath(handle: FileHandle): Promise<string | undefined> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return undefined;
  }
}

export interface ReadImageFileOptions {
  allowedDirs: readonly string[];
  maxBytes: number;
  /** What relative paths are relative to; the process's working directory by default. */
  baseDir?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface ImageFile {
  /** The real path that was read. */
  path: string;
  bytes: Uint8Array;
  /** Which file version this was (fileIdentity of the opened file). */
  identity: string;
}

/** A file that passed every check but was not read: the caller said it already has this version. */
export interface KnownImageFile {
  path: string;
  identity: string;
  known: true;
}

/**
 * The file's device, inode, size and change times: a new version of the file (rewritten, replaced, renamed
 * over) has another identity, so what was learnt from the bytes of one version is never used for another.
 */
export function fileIdentity(stats: Stats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

export async function readImageFile(path: string, options: ReadImageFileOptions): Promise<ImageFile> {
  return (await readImageFileUnlessKnown(path, options, () => false)) as ImageFile;
}

/**
 * readImageFile, except that once every check has passed (the file is under an allowed directory, not swapped,
 * a regular file within the size limit) and `known(identity)` says the caller already has this version of
 * it, the bytes are not read: a server asked for the same photo by fifty clients reads and hashes it once.
 */
export async function readImageFileUnlessKnown(
  path: string,
  options: ReadImageFileOptions,
  known: (identity: string) => boolean,
): Promise<ImageFile | KnownImageFile> {
  // Not path.resolve: it collapses ".." before links are followed, which is not what opening the path does.
  const absolute = isAbsolute(path) ? path : `${options.baseDir ?? process.cwd()}${sep}${path}`;
  const allowed = await realDirs(options.allowedDirs);
  const target = await resolveLinks(absolute, path);
  if (!allowed.some((dir) => isInside(dir, target.path))) throw notAllowed(path, options.allowedDirs);
  if (!target.exists) {
    throw new SquintError("NOT_FOUND", `No file at "${clipForMessage(path)}".`, {
      hint: "Check the path (relative paths are resolved against the server's working directory), or pass an image id returned by an earlier call.",
    });
  }
  const real = target.path;
  // O_NONBLOCK keeps a FIFO swapped in from hanging the read; O_NOFOLLOW refuses a symlink swapped in for the
  // final component. A swapped directory higher up is caught by the check after opening.
  let handle: FileHandle;
  try {
    handle = await open(real, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "EMLINK") throw notAllowed(path, options.allowedDirs);
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new SquintError("NOT_FOUND", `No file at "${clipForMessage(path)}".`, {
        hint: "Check the path, or pass an image id returned by an earlier call.",
      });
    }
    throw cause;
  }
  try {
    const opened = await handle.stat();
    const kernelPath = await openedPath(handle);
    if (kernelPath !== undefined && !allowed.some((dir) => isInside(dir, kernelPath))) {
      throw notAllowed(path, options.allowedDirs);
    }
    // Everywhere (no /proc too): the real path, resolved again now, must name the very file that was opened.
    const now = await realpath(real).catch(() => undefined);
    const named = now === undefined ? undefined : await stat(now).catch(() => undefined);
    if (
      now === undefined ||
      named === undefined ||
      !allowed.some((dir) => isInside(dir, now)) ||
      named.dev !== opened.dev ||
      named.ino !== opened.ino
    ) {
      throw notAllowed(path, options.allowedDirs);
    }
    if (!opened.isFile()) {
      throw new SquintError("INVALID_ARGUMENT", `"${clipForMessage(path)}" is not a regular file.`, {
        hint: "Pass the path of an image file.",
      });
    }
    if (opened.size > options.maxBytes) {
      throw new SquintError(
        "IMAGE_TOO_LARGE",
        `"${clipForMessage(path)}" is ${opened.size} bytes, over the ${options.maxBytes}-byte limit.`,
        {
          hint: "Use a smaller image, or raise the server's image size limit.",
          details: { bytes: opened.size, maxBytes: options.maxBytes },
        },
      );
    }
    if (opened.size === 0) {
      throw new SquintError("IMAGE_DECODE_FAILED", `"${clipForMessage(path)}" is empty (0 bytes).`, {
        hint: "The file has no image data; check that it was written completely.",
      });
    }
    options.signal?.throwIfAborted();
    const identity = fileIdentity(opened);
    if (known(identity)) return { path: real, identity, known: true };
    const buffer = await handle.readFile({ signal: options.signal });
    if (buffer.byteLength > options.maxBytes) {
      // The file grew after the size check.
      throw new SquintError(
        "IMAGE_TOO_LARGE",
        `"${clipForMessage(path)}" is over the ${options.maxBytes}-byte limit.`,
        {
          hint: "Use a smaller image, or raise the server's image size limit.",
          details: { maxBytes: options.maxBytes },
        },
      );
    }
    return { path: real, identity, bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) };
  } finally {
    await handle.close();
  }
}
