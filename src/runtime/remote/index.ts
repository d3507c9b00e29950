/** The remote backend: Qwen3-VL served by vLLM, SGLang, Ollama, DashScope or any OpenAI-compatible endpoint. */
export { type RemotePreset, type RemotePresetName, remotePresets } from "./presets.js";
export { createRemoteBackend, type RemoteBackendOptions, remoteBackendOptionsSchema } from "./remote-backend.js";
