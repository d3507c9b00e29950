import { constants } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { SquintError } from "../../errors.js";

/**
 * Reading an image path under a root policy. The check is done on real paths (symlinks and ".." resolved)
 * on both sides, so a link inside an allowed directory that points outside it is refused, and so is a path
 * that only looks inside ("/allowed/../etc/passwd").
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
  const maybeId = /^[\w-]+$/.test(path) ? ` If "${path}" is meant as an image id, no image has that id any more.` : "";
  return new SquintError("PATH_NOT_ALLOWED", `The path "${path}" is outside the directories this server may read.`, {
    hint:
      (allowedDirs.length === 0
        ? "No directory is allowed yet: start the server with --allow <dir>, or use a client that shares its roots."
        : `Use a file under ${allowedDirs.join(", ")} (symlinks are followed before the check), or start the server with --allow <dir>.`) +
      maybeId,
    details: { allowedDirs: [...allowedDirs] },
  });
}

export interface ReadImageFileOptions {
  allowedDirs: readonly string[];
  maxBytes: number;
  /** What relative paths are relative to; the process's working directory by default. */
  baseDir?: string;
  signal?: AbortSignal;
}

export interface ImageFile {
  /** The real path that was read. */
  path: string;
  bytes: Uint8Array;
}

export async function readImageFile(path: string, options: ReadImageFileOptions): Promise<ImageFile> {
  const lexical = resolve(options.baseDir ?? process.cwd(), path);
  const allowed = await realDirs(options.allowedDirs);
  let real: string;
  try {
    real = await realpath(lexical);
  } catch (cause) {
    // Say "not allowed" rather than "not found" outside the roots: existence there is none of the caller's business.
    if (!allowed.some((dir) => isInside(dir, lexical))) throw notAllowed(path, options.allowedDirs);
    throw new SquintError("NOT_FOUND", `No file at "${path}".`, {
      hint: "Check the path (relative paths are resolved against the server's working directory), or pass an image id returned by an earlier call.",
      cause,
    });
  }
  if (!allowed.some((dir) => isInside(dir, real))) throw notAllowed(path, options.allowedDirs);

  const info = await stat(real);
  if (!info.isFile()) {
    throw new SquintError("INVALID_ARGUMENT", `"${path}" is not a regular file.`, {
      hint: "Pass the path of an image file.",
    });
  }
  // O_NONBLOCK keeps a FIFO swapped in after the stat from hanging the read; O_NOFOLLOW refuses a symlink
  // swapped in for the final component after realpath.
  const handle = await open(real, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0));
  try {
    const opened = await handle.stat();
    if (!opened.isFile()) {
      throw new SquintError("INVALID_ARGUMENT", `"${path}" is not a regular file.`, {
        hint: "Pass the path of an image file.",
      });
    }
    if (opened.size > options.maxBytes) {
      throw new SquintError(
        "IMAGE_TOO_LARGE",
        `"${path}" is ${opened.size} bytes, over the ${options.maxBytes}-byte limit.`,
        {
          hint: "Use a smaller image, or raise the server's image size limit.",
          details: { bytes: opened.size, maxBytes: options.maxBytes },
        },
      );
    }
    if (opened.size === 0) {
      throw new SquintError("IMAGE_DECODE_FAILED", `"${path}" is empty (0 bytes).`, {
        hint: "The file has no image data; check that it was written completely.",
      });
    }
    options.signal?.throwIfAborted();
    const buffer = await handle.readFile({ signal: options.signal });
    return { path: real, bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) };
  } finally {
    await handle.close();
  }
}
