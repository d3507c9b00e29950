/**
 * `squint/model`: what Qwen3-VL *is* — configuration, image and video preprocessing, the prompt format, the
 * tokenizer, positions, reply parsing and sampling. Pure functions; nothing here runs a model.
 *
 * A deliberate list: what someone building on the model core needs (to count visual tokens, render a prompt
 * exactly as Qwen does, parse a reply, sample). Helpers the core uses internally (resize kernels, patch layout,
 * Python-compatible number formatting, penalty arithmetic) stay importable from their files but are not the
 * package's promise.
 */
export {
  type GenerationConfig,
  type ModelConfig,
  type PreprocessorConfig,
  parseGenerationConfig,
  parseModelConfig,
  parsePreprocessorConfig,
  type RawModelConfig,
  type TextConfig,
  type VisionConfig,
  DEFAULT_PREPROCESSOR_CONFIG,
} from "./config.js";
export { type GroundingItem, parseGrounding } from "./grounding.js";
export { type DecodeImageOptions, DEFAULT_MAX_INPUT_PIXELS, decodeImage, type RawImage } from "./image-decode.js";
export {
  type ContentPart,
  contentParts,
  type ImagePart,
  type Message,
  messageSchema,
  type TextPart,
  type ToolCall,
  type ToolSpec,
  toolSpecSchema,
  type VideoPart,
} from "./messages.js";
export { type MropeOptions, mropeCosSin } from "./mrope.js";
export { type GridThw, type RopePositionOptions, type RopePositions, ropePositions } from "./positions.js";
export { IMAGE_PLACEHOLDER, type RenderPromptOptions, renderPrompt, VIDEO_PLACEHOLDER } from "./prompt.js";
export { type ChatTemplateOptions, renderChatTemplate } from "./prompt-jinja.js";
export { expandVisionPlaceholders, type VideoExpansion, type VisionExpansion } from "./prompt-vision.js";
export { type ParsedReply, parseReply, type ReplyEvent, ReplyParser, type ReplyParserOptions } from "./reply.js";
export {
  greedySampling,
  instructEvalSampling,
  instructSampling,
  resolveSampling,
  Sampler,
  type SamplingOptions,
  samplingOptionsSchema,
  thinkingEvalSampling,
  thinkingSampling,
} from "./sampling.js";
export {
  type DecodeOptions,
  loadTokenizer,
  QwenTokenizer,
  type SpecialTokenIds,
  type SpecialTokenName,
  TokenStreamDecoder,
} from "./tokenizer.js";
export { type PreprocessedVideo, preprocessVideo, type VideoPreprocessOptions } from "./video.js";
export {
  type ImagePreprocessOptions,
  type PreprocessedImage,
  preprocessImage,
  type ResizedSize,
  type SmartResizeOptions,
  smartResize,
  visualTokenCount,
} from "./vision.js";
