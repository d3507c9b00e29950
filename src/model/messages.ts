import { z } from "zod";

/**
 * The one conversation shape Squint uses everywhere: the prompt renderer reads it, the agent keeps it in
 * its context (and in snapshots, so it must stay plain JSON), backends receive it.
 *
 * An image or video part carries a *reference* (an image-store id, a path, a URL or a data URI), never
 * pixels: whoever sends the conversation to a model resolves references to pixels at that point.
 */

export const textPartSchema = z.object({ type: z.literal("text"), text: z.string() });

export const imagePartSchema = z.object({
  type: z.literal("image"),
  /** Image-store id, file path, http(s) URL or data URI. */
  image: z.string().min(1),
  /** Optional per-image pixel budget overrides (qwen-vl-utils style). */
  minPixels: z.number().int().positive().optional(),
  maxPixels: z.number().int().positive().optional(),
});

export const videoPartSchema = z.object({
  type: z.literal("video"),
  /** One reference per frame, in order. */
  frames: z.array(z.string().min(1)).min(1),
  /** Frames per second of the source the frames were taken from. */
  sourceFps: z.number().positive().optional(),
  /** Sampling rate to feed the model (spec §2.2; default 2). */
  fps: z.number().positive().optional(),
});

export const contentPartSchema = z.discriminatedUnion("type", [textPartSchema, imagePartSchema, videoPartSchema]);

export const toolCallSchema = z.object({
  /** Stable id within a run (backends that do not give one get a generated id). */
  id: z.string().optional(),
  name: z.string().min(1),
  arguments: z.record(z.string(), z.unknown()),
});

export const messageSchema = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content: z.union([z.string(), z.array(contentPartSchema)]) }),
  z.object({ role: z.literal("user"), content: z.union([z.string(), z.array(contentPartSchema)]) }),
  z.object({
    role: z.literal("assistant"),
    content: z.union([z.string(), z.array(contentPartSchema)]),
    /** The thinking text (what came before `</think>`), kept apart from the answer. */
    reasoning: z.string().optional(),
    toolCalls: z.array(toolCallSchema).optional(),
  }),
  z.object({
    role: z.literal("tool"),
    content: z.union([z.string(), z.array(contentPartSchema)]),
    /** The call this answers. */
    toolCallId: z.string().optional(),
    name: z.string().optional(),
  }),
]);

export type TextPart = z.infer<typeof textPartSchema>;
export type ImagePart = z.infer<typeof imagePartSchema>;
export type VideoPart = z.infer<typeof videoPartSchema>;
export type ContentPart = z.infer<typeof contentPartSchema>;
export type ToolCall = z.infer<typeof toolCallSchema>;
export type Message = z.infer<typeof messageSchema>;

/** A tool as the model sees it: OpenAI function form, which Qwen3-VL's template serialises (spec §5). */
export const toolSpecSchema = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string().min(1),
    description: z.string(),
    parameters: z.record(z.string(), z.unknown()),
  }),
});
export type ToolSpec = z.infer<typeof toolSpecSchema>;

/** The parts of a message's content as a list (a plain string is one text part). */
export function contentParts(content: string | ContentPart[]): ContentPart[] {
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}
