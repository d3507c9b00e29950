import { parentPort } from "node:worker_threads";
import { SquintError } from "../../errors.js";
import { resizeBicubicSync } from "../../model/vision.js";

/**
 * One resize thread of the pool (resize-pool.ts): Pillow-exact bicubic on pixels it is handed (transferred,
 * not copied), the result transferred back. The main thread's event loop never runs these loops.
 */
if (parentPort === null) throw new SquintError("INTERNAL", "resize-worker must run as a worker thread.");
const port = parentPort;

interface ResizeRequest {
  id: number;
  width: number;
  height: number;
  data: Uint8Array;
  outWidth: number;
  outHeight: number;
}

port.on("message", (request: ResizeRequest) => {
  try {
    const out = resizeBicubicSync(
      { width: request.width, height: request.height, data: request.data },
      request.outWidth,
      request.outHeight,
    );
    port.postMessage({ id: request.id, width: out.width, height: out.height, data: out.data }, [
      out.data.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
