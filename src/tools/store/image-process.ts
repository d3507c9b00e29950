import sharp from "sharp";
import { SquintError } from "../../errors.js";

/**
 * Process-wide settings of libvips (through sharp) for a long-running server. By default libvips caches
 * recent operations and their pixels (up to 50 MB and 100 operations), memory no budget of ours sees and a
 * server never reuses (every call's input is a different buffer); and it gives every operation as many
 * threads as there are cores, so ten concurrent encodes on two cores fight over them. The server turns the
 * cache off and runs each operation on one thread: parallelism comes from running several calls at once.
 */
export interface ImageProcessOptions {
  /** Keep libvips' operation cache (default false). */
  vipsCache: boolean;
  /** libvips threads per operation (default 1). */
  vipsThreads: number;
}

export const DEFAULT_IMAGE_PROCESS: Readonly<ImageProcessOptions> = Object.freeze({ vipsCache: false, vipsThreads: 1 });

/** Applies the settings to sharp; returns what sharp now reports. */
export function configureImageProcess(options: Partial<ImageProcessOptions> = {}): ImageProcessOptions {
  const { vipsCache, vipsThreads } = { ...DEFAULT_IMAGE_PROCESS, ...options };
  if (!Number.isInteger(vipsThreads) || vipsThreads < 1) {
    throw new SquintError("INVALID_CONFIG", `libvips needs at least one thread per operation, got ${vipsThreads}.`, {
      hint: "Set SQUINT_VIPS_THREADS to a whole number of 1 or more.",
    });
  }
  sharp.cache(vipsCache);
  sharp.concurrency(vipsThreads);
  return { vipsCache: sharp.cache().items.max > 0, vipsThreads: sharp.concurrency() };
}
