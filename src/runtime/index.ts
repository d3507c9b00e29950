/** `squint/runtime`: how a model is run — the Backend interface, the remote backend, the local engine, the model store. */
export type { Backend, BackendEvent, BackendInfo, FinishReason, GenerateRequest } from "./backend.js";
export {
  type BackendProgress,
  type BackendProgressReporter,
  type CreateBackendOptions,
  createBackend,
  usesServer,
} from "./create-backend.js";
export * from "./local/index.js";
export * from "./remote/index.js";
