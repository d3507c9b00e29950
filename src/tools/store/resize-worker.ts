import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { SquintError } from "../../errors.js";
import { resizeRegionBicubicSync } from "../../model/bicubic.js";
import type { ResizeRequest } from "./resize-pool.js";

/**
 * One resize thread of the pool (resize-pool.ts): resizes a rectangle of the pixels it is handed (shared
 * ones read in place, without a crop copy) with Pillow-exact bicubic, the result moved back, not copied. The main thread's event loop never runs these loops.
 */
if (parentPort === null) throw new SquintError("INTERNAL", "resize-worker must run as a worker thread.");
const port = parentPort;

const nice = (workerData as { nice?: number } | null)?.nice ?? 0;
if (nice > 0) {
  try {
    // Linux: priority 0 names the calling thread, so only this large-lane thread yields, not the process.
    setPriority(nice);
  } catch {
    // Not permitted or not supported: the lane still works, only without the lower priority.
  }
}

port.on("message", (request: ResizeRequest) => {
  try {
    const source = { width: request.width, height: request.height, data: request.data };
    const region = request.rect ?? { left: 0, top: 0, width: request.width, height: request.height };
    // Reads the rectangle in place (no crop copy) and always returns new pixels, so they can be moved back.
    const out = resizeRegionBicubicSync(source, region, request.outWidth, request.outHeight);
    port.postMessage({ id: request.id, width: out.width, height: out.height, data: out.data }, [
      out.data.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
