/**
 * `squint/model`: what Qwen3-VL *is* — configuration, preprocessing, prompt format, tokenizer, positions,
 * reply parsing, sampling, checkpoints and the ONNX graph builder. Pure functions; nothing here runs a model.
 */
export * from "./config.js";
export * from "./messages.js";
export * from "./image-decode.js";
export * from "./vision.js";
export * from "./video.js";
export * from "./positions.js";
export * from "./mrope.js";
export * from "./tokenizer.js";
export * from "./prompt.js";
export * from "./prompt-json.js";
export * from "./prompt-jinja.js";
export * from "./prompt-vision.js";
export * from "./reply.js";
export * from "./tool-call-repair.js";
export * from "./grounding.js";
export * from "./sampling.js";
