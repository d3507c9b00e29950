/** `squint/http`: the `squint serve` HTTP server (grounding API and OpenAI-compatible endpoint) to embed or start. */
export { FairQueue, type Ticket } from "./admission.js";
export { errorBody, statusForCode } from "./error-reply.js";
export { resolveServeLimits, type ServeLimits, type ServeLimitsInput, serveLimitsSchema } from "./limits.js";
export type { BackendSource, ModelStatus } from "./model-slot.js";
export {
  createServeApp,
  DEFAULT_SERVE_HOST,
  DEFAULT_SERVE_PORT,
  serve,
  type ServeApp,
  type ServeContext,
  type ServeHandle,
  type ServeOptions,
} from "./server.js";
