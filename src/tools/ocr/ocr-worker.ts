import { parentPort, workerData } from "node:worker_threads";
import { parseWith, SquintError, toSquintError } from "../../errors.js";
import { createLocalOcrEngine } from "./local-engine.js";
import {
  presentKeys,
  type WireError,
  type WorkerResponse,
  workerDataSchema,
  workerRequestSchema,
} from "./worker-protocol.js";

/**
 * The OCR worker thread: loads the models once, then reads images one at a time (ONNX Runtime already
 * uses the cores it is given, so running two at once would only make both slower).
 */
if (parentPort === null) throw new SquintError("INTERNAL", "ocr-worker must run as a worker thread.");
const port = parentPort;
const send = (message: WorkerResponse) => port.postMessage(message);
const wire = (error: unknown): WireError => {
  const e = toSquintError(error, "TOOL_FAILED").toJSON();
  return {
    code: e.code,
    message: e.message,
    ...(e.hint ? { hint: e.hint } : {}),
    ...(e.details ? { details: e.details } : {}),
  };
};

const pending = new Map<number, AbortController>();
let queue: Promise<void> = Promise.resolve();

try {
  const options = parseWith(workerDataSchema, workerData ?? {}, "OCR worker options", { code: "INTERNAL" });
  const engine = await createLocalOcrEngine({
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.paths ? { paths: options.paths } : {}),
    ...(options.read ? { read: presentKeys(options.read) } : {}),
  });
  port.on("message", (raw: unknown) => {
    const request = parseWith(workerRequestSchema, raw, "OCR worker request", { code: "INTERNAL" });
    if (request.kind === "cancel") {
      pending.get(request.id)?.abort();
      return;
    }
    if (request.kind === "close") {
      // Stop after the current line, free the sessions, then let the thread end on its own: being
      // terminated inside a native onnxruntime call can abort the whole process.
      for (const controller of pending.values()) controller.abort();
      queue = queue.then(async () => {
        await engine.close();
        port.close();
      });
      return;
    }
    const controller = new AbortController();
    pending.set(request.id, controller);
    queue = queue.then(async () => {
      try {
        const result = await engine.recognize(request.image, {
          signal: controller.signal,
          ...(request.script ? { script: request.script } : {}),
        });
        send({ kind: "result", id: request.id, result });
      } catch (error) {
        send({ kind: "error", id: request.id, error: wire(error) });
      } finally {
        pending.delete(request.id);
      }
    });
  });
  send({ kind: "ready" });
} catch (error) {
  send({ kind: "load-failed", error: wire(error) });
}
