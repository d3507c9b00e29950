import { SquintError } from "../errors.js";
import { contentParts, type ImagePart, type Message, type VideoPart } from "./messages.js";

/**
 * After rendering, each image placeholder becomes as many `<|image_pad|>` tokens as the image has merged
 * patches, and each video triple becomes one timestamped block per 2-frame group (spec §2.2 "Text
 * expansion", transformers `replace_image_token` / `replace_video_token`).
 */

export interface VideoExpansion {
  /** One per temporal group, already formatted as Python's `%.1f` prints seconds (e.g. "0.2"). */
  timestamps: string[];
  /** `<|video_pad|>` tokens in each group's block. */
  tokensPerGroup: number;
}

export interface VisionExpansion {
  /** `<|image_pad|>` count for each image, in prompt order. */
  imageTokenCounts: number[];
  /** One entry per video, in prompt order. */
  videos: VideoExpansion[];
}

const VISION_TOKENS = /<\|vision_start\|><\|video_pad\|><\|vision_end\|>|<\|image_pad\|>|<\|video_pad\|>/g;

export function expandVisionPlaceholders(text: string, expansion: VisionExpansion): string {
  let image = 0;
  let video = 0;
  const expanded = text.replace(VISION_TOKENS, (match) => {
    if (match === "<|image_pad|>") {
      const count = expansion.imageTokenCounts[image++];
      if (count === undefined) return match; // reported below with the totals
      requireCount("image", image - 1, count);
      return "<|image_pad|>".repeat(count);
    }
    if (match === "<|video_pad|>") {
      throw new SquintError("INVALID_ARGUMENT", "A <|video_pad|> in the prompt is not inside a vision block.", {
        hint: "Videos must appear as <|vision_start|><|video_pad|><|vision_end|>, as the chat template writes them.",
      });
    }
    const entry = expansion.videos[video++];
    if (entry === undefined) return match;
    requireCount("video", video - 1, entry.tokensPerGroup);
    const block = `<|vision_start|>${"<|video_pad|>".repeat(entry.tokensPerGroup)}<|vision_end|>`;
    return entry.timestamps.map((seconds) => `<${seconds} seconds>${block}`).join("");
  });
  if (image !== expansion.imageTokenCounts.length || video !== expansion.videos.length) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `The prompt has ${image} image and ${video} video placeholders, but ${expansion.imageTokenCounts.length} images and ${expansion.videos.length} videos were given.`,
      {
        hint: "Give one entry per placeholder in prompt order (promptVisionParts lists them); text that spells <|image_pad|> also counts.",
        details: { placeholders: { images: image, videos: video } },
      },
    );
  }
  return expanded;
}

function requireCount(kind: string, index: number, count: number): void {
  if (!Number.isInteger(count) || count <= 0) {
    throw new SquintError("INVALID_ARGUMENT", `Token count ${count} for ${kind} ${index} is not a positive integer.`, {
      hint: "Use the count the vision preprocessor reports (grid t·h·w / merge²).",
    });
  }
}

/**
 * The image and video parts in the order their placeholders appear in the natively rendered prompt.
 * The Instruct template drops images from system and assistant messages; the Thinking template keeps all.
 */
export function promptVisionParts(messages: Message[], options: { thinking: boolean }): (ImagePart | VideoPart)[] {
  const parts: (ImagePart | VideoPart)[] = [];
  messages.forEach((message) => {
    const shown = options.thinking || message.role === "user" || message.role === "tool";
    if (!shown) return;
    for (const part of contentParts(message.content)) if (part.type !== "text") parts.push(part);
  });
  return parts;
}
