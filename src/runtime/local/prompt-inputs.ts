import { createHash } from "node:crypto";
import { isSquintError, SquintError } from "../../errors.js";
import type { PreprocessorConfig } from "../../model/config.js";
import type { Message, ToolSpec } from "../../model/messages.js";
import { renderPrompt } from "../../model/prompt.js";
import { expandVisionPlaceholders, promptVisionParts, type VideoExpansion } from "../../model/prompt-vision.js";
import type { QwenTokenizer } from "../../model/tokenizer.js";
import { preprocessVideo } from "../../model/video.js";
import { preprocessImage, type RawImage } from "../../model/vision.js";
import type { VisualInput } from "./visual-inputs.js";

/**
 * A conversation as the engine takes it: rendered with the model's chat template (native renderer), each
 * image/video resolved, preprocessed with the checkpoint's processor settings and named by a hash of its
 * pixels, the placeholders expanded to pad tokens, and the text tokenized (no BOS).
 */
export interface PromptInputs {
  ids: number[];
  visuals: VisualInput[];
}

export interface PreparePromptOptions {
  messages: Message[];
  tools?: ToolSpec[] | undefined;
  thinking: boolean;
  tokenizer: QwenTokenizer;
  preprocessor: PreprocessorConfig;
  resolveImage: (reference: string) => Promise<RawImage>;
  signal?: AbortSignal | undefined;
}

/** Same pixels + same processing settings → same key; the engine reuses cached positions only on equal keys. */
function pixelKey(images: readonly RawImage[], settings: unknown): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify(settings));
  for (const image of images) {
    hash.update(`${image.width}x${image.height};`);
    hash.update(image.data);
  }
  return hash.digest("hex").slice(0, 32);
}

async function resolve(reference: string, resolveImage: PreparePromptOptions["resolveImage"]): Promise<RawImage> {
  try {
    return await resolveImage(reference);
  } catch (error) {
    if (isSquintError(error)) throw error;
    throw new SquintError("IMAGE_DECODE_FAILED", `Could not load the image "${reference.slice(0, 80)}".`, {
      hint: "Check that the image reference (store id, path or URL) is still valid.",
      cause: error,
    });
  }
}

export async function preparePrompt(options: PreparePromptOptions): Promise<PromptInputs> {
  const text = renderPrompt(options.messages, { tools: options.tools, thinking: options.thinking });
  const parts = promptVisionParts(options.messages, { thinking: options.thinking });
  const visuals: VisualInput[] = [];
  const imageTokenCounts: number[] = [];
  const videos: VideoExpansion[] = [];
  const merge = options.preprocessor.mergeSize;
  for (const part of parts) {
    if (options.signal?.aborted) throw new SquintError("ABORTED", "Generation was aborted.");
    if (part.type === "image") {
      const raw = await resolve(part.image, options.resolveImage);
      const settings = {
        ...options.preprocessor,
        ...(part.minPixels === undefined ? {} : { minPixels: part.minPixels }),
        ...(part.maxPixels === undefined ? {} : { maxPixels: part.maxPixels }),
      };
      const pre = await preprocessImage(raw, settings);
      visuals.push({ kind: "image", key: pixelKey([raw], settings), grid: pre.gridThw, pixelValues: pre.pixelValues });
      imageTokenCounts.push((pre.gridThw[0] * pre.gridThw[1] * pre.gridThw[2]) / (merge * merge));
    } else {
      const frames: RawImage[] = [];
      for (const reference of part.frames) frames.push(await resolve(reference, options.resolveImage));
      const { minPixels: _min, maxPixels: _max, ...imageSettings } = options.preprocessor;
      const settings = {
        ...imageSettings,
        sourceFps: part.sourceFps ?? 2,
        ...(part.fps === undefined ? {} : { fps: part.fps }),
      };
      const pre = await preprocessVideo(frames, settings);
      visuals.push({ kind: "video", key: pixelKey(frames, settings), grid: pre.gridThw, pixelValues: pre.pixelValues });
      videos.push({ timestamps: pre.timestamps, tokensPerGroup: pre.tokensPerGroup });
    }
  }
  const expanded = expandVisionPlaceholders(text, { imageTokenCounts, videos });
  return { ids: options.tokenizer.encode(expanded), visuals };
}
