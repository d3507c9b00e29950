import type { FastifyRequest } from "fastify";
import { SquintError } from "../errors.js";
import type { Backend } from "../runtime/backend.js";
import type { StoredImage } from "../tools/store/image-store.js";
import { imagesWhenAdmitted, resolveRequestImages } from "./request-images.js";
import type { ServeContext } from "./serve-context.js";

/**
 * The path every model request takes, in this order: the model must be ready (503), the image count must
 * be within the limit (413), the queue must have room (429) — all decided before any image is read — then
 * its images are fetched and decoded while it waits its turn, and once admitted it runs under a signal
 * that fires when the client goes away or the request's time runs out.
 */
export interface AdmittedModelRequest {
  backend: Backend;
  images: StoredImage[];
  /** Aborts on client disconnect (ABORTED) or after requestTimeoutMs (TIMEOUT). */
  signal: AbortSignal;
  queueMs: number;
  /** Frees the engine and the images: call exactly once, when the response is complete. */
  done(): void;
}

export async function admitModelRequest(
  context: ServeContext,
  request: FastifyRequest,
  references: readonly string[],
  what: string,
): Promise<AdmittedModelRequest> {
  const backend = context.model.require(what);
  const limit = context.limits.maxImagesPerRequest;
  if (references.length > limit) {
    throw new SquintError("REQUEST_TOO_LARGE", `${references.length} images; one request may have ${limit}.`, {
      hint: "Send fewer images per request, or raise --max-images.",
    });
  }
  const ticket = context.lanes.model.enqueue(request.ip, request.clientGone);
  let images: Awaited<ReturnType<typeof resolveRequestImages>>;
  try {
    images = await imagesWhenAdmitted(
      ticket.granted,
      resolveRequestImages(references, {
        store: context.store,
        uploads: context.uploads,
        policy: context.policy,
        signal: request.clientGone,
      }),
    );
  } catch (error) {
    ticket.release();
    throw error;
  }
  context.metrics.queueTime.observe({ lane: "model" }, ticket.waitedMs / 1000);
  const controller = new AbortController();
  const timeoutMs = context.limits.requestTimeoutMs;
  const timer = setTimeout(
    () =>
      controller.abort(
        new SquintError("TIMEOUT", `The request ran past ${timeoutMs} ms and was stopped.`, {
          hint: "Ask for fewer tokens, or raise --request-timeout-s.",
        }),
      ),
    timeoutMs,
  );
  const onGone = () => controller.abort(request.clientGone.reason);
  if (request.clientGone.aborted) onGone();
  else request.clientGone.addEventListener("abort", onGone, { once: true });
  let finished = false;
  return {
    backend,
    images: images.images,
    signal: controller.signal,
    queueMs: ticket.waitedMs,
    done() {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      request.clientGone.removeEventListener("abort", onGone);
      images.release();
      ticket.release();
    },
  };
}
