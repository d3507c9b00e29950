import { z } from "zod";
import { describeRegion, imageSelectorShape, regionSchema, selectImage, type ToolContext } from "./context.js";
import type { ToolDefinition } from "./tool.js";

/** What the store knows about an image: size, format, where it came from, and how it maps to its original. */

const affineSchema = z.object({
  a: z.number(),
  b: z.number(),
  c: z.number(),
  d: z.number(),
  e: z.number(),
  f: z.number(),
});

const inputSchema = z.object({ ...imageSelectorShape });

const outputSchema = z.object({
  id: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  format: z.string(),
  source: z.string(),
  operation: z.string(),
  label: z.string().optional(),
  original: z.object({ id: z.string(), width: z.number().int(), height: z.number().int() }),
  toOriginal: affineSchema.describe(
    "From this image's pixels to the original's: x' = a·x + b·y + c, y' = d·x + e·y + f.",
  ),
  extentInOriginal: regionSchema.describe("This whole image, as a box on the original."),
  lineage: z
    .array(
      z.object({
        id: z.string(),
        operation: z.string(),
        width: z.number().int(),
        height: z.number().int(),
        label: z.string().optional(),
        toParent: affineSchema,
      }),
    )
    .describe("This image, then its parent, up to the original."),
});

export const imageInfoTool: ToolDefinition<typeof inputSchema, typeof outputSchema, ToolContext> = {
  name: "image_info",
  title: "Image info",
  description:
    "Describe an image: size, format, source, and its lineage (the crops, zooms and rotations it came from) with the transform to the original's pixels.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async run(input, context, options) {
    const image = await selectImage(input, context, options.signal);
    const lineage = context.store.lineage(image.id);
    const extent = describeRegion(image, { x1: 0, y1: 0, x2: image.width, y2: image.height });
    return {
      structured: {
        id: image.id,
        width: image.width,
        height: image.height,
        format: image.format,
        source: image.source,
        operation: image.operation,
        ...(image.label === undefined ? {} : { label: image.label }),
        original: { id: image.originalId, ...image.originalSize },
        toOriginal: { ...image.toOriginal },
        extentInOriginal: extent,
        lineage: lineage.map((step) => ({
          id: step.id,
          operation: step.operation,
          width: step.width,
          height: step.height,
          ...(step.label === undefined ? {} : { label: step.label }),
          toParent: { ...step.toParent },
        })),
      },
      images: [],
      summary:
        `${image.id}: ${image.width}×${image.height} ${image.format}, ${image.operation}` +
        (image.originalId === image.id
          ? ` from ${image.source}.`
          : ` of ${image.originalId} (${image.originalSize.width}×${image.originalSize.height}), covering [${extent.originalPixels.join(", ")}] of it.`),
    };
  },
};
