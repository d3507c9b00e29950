import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { OcrFunction } from "../tools/context.js";
import type { ImageStore } from "../tools/store/image-store.js";
import type { SourcePolicy } from "../tools/sources/policy.js";
import type { FairQueue } from "./admission.js";
import type { ServeLimits } from "./limits.js";
import type { ServeMetrics } from "./metrics.js";
import type { ModelSlot } from "./model-slot.js";
import type { UploadTable } from "./request-images.js";

/*
 * The app type and the state the routes share. They live apart from server.ts, which registers the routes, so a
 * route can name them without importing the server that imports it.
 */

/** What the routes share. */
export interface ServeContext {
  readonly limits: ServeLimits;
  readonly store: ImageStore;
  readonly uploads: UploadTable;
  readonly policy: SourcePolicy;
  readonly model: ModelSlot;
  readonly lanes: { model: FairQueue; ocr: FairQueue };
  readonly metrics: ServeMetrics;
  readonly ocr: () => OcrFunction;
  readonly startedAt: number;
}

export type ServeApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;
