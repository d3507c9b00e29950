/**
 * `squint`: the agent SDK. `createAgent` runs Qwen3-VL's think-with-images loop on any Backend; `locate` returns
 * boxes in the pixels of the caller's image. Areas have their own entry points: `squint/model`, `squint/tools`,
 * `squint/runtime`, `squint/mcp`.
 */
export * from "./agent/index.js";
export { formatError, isSquintError, SquintError, type SquintErrorCode } from "./errors.js";
export type { ContentPart, Message, ToolCall, ToolSpec } from "./model/messages.js";
export type { Backend, BackendEvent, GenerateRequest } from "./runtime/backend.js";
export {
  type BackendProgress,
  type BackendProgressReporter,
  type CreateBackendOptions,
  createBackend,
} from "./runtime/create-backend.js";
export { createRemoteBackend, type RemoteBackendOptions } from "./runtime/remote/index.js";
export { ImageStore } from "./tools/index.js";
