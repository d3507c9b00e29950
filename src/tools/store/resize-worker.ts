import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { SquintError } from "../../errors.js";
import { resizeBicubicSync } from "../../model/bicubic.js";
import { cropPixels } from "./raw-crop.js";
import type { ResizeRequest } from "./resize-pool.js";

/**
 * One resize thread of the pool (resize-pool.ts): crops (reading shared pixels in place) and resizes with
 * Pillow-exact bicubic, the result moved back, not copied. The main thread's event loop never runs these loops.
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
    const cropped = request.rect ? cropPixels(source, request.rect) : source;
    const out = resizeBicubicSync(cropped, request.outWidth, request.outHeight);
    // A resize that changes nothing returns its input: copy then, since shared input must not be detached.
    const data = out.data === request.data ? new Uint8Array(out.data) : out.data;
    port.postMessage({ id: request.id, width: out.width, height: out.height, data }, [data.buffer as ArrayBuffer]);
  } catch (error) {
    port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
