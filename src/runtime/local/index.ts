/** The in-process ONNX Runtime engine: what the agent, the CLI and tests import. */
export { createLocalBackend, type CreateLocalBackendOptions, type LoadProgress } from "./create-local-backend.js";
export { DEFAULT_MAX_CACHE_BYTES, type EngineOptions, type EngineStats, LocalEngine } from "./engine.js";
export { type ExecutionProviderChoice, executionProviderSchema } from "./execution-provider.js";
export { LocalBackend } from "./local-backend.js";
export { loadModelFiles, type ModelFiles } from "./model-files.js";
export type { VisualInput } from "./visual-inputs.js";
