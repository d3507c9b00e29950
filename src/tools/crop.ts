import { z } from "zod";
import {
  describeRegion,
  imageSelectorShape,
  labelSchema,
  imageSummary,
  imageSummarySchema,
  regionSchema,
  selectImage,
  type ToolContext,
} from "./context.js";
import { type CoordinateSpace, coordinateSpaces, cropTransform, parseBox, pixelRect, rectBox } from "./geometry.js";
import { cropPixels } from "./store/pixel-ops.js";
import type { ToolDefinition } from "./tool.js";

/**
 * Cuts a region out at its own resolution (no enlargement: that is zoom's job). The box may be given in any
 * coordinate space, so a host can crop in pixels while the model speaks 0–1000.
 */

const inputSchema = z.object({
  bbox_2d: z.array(z.number()).length(4).describe("The region as [x1, y1, x2, y2] (top-left, bottom-right)."),
  space: z
    .enum(coordinateSpaces as [CoordinateSpace, ...CoordinateSpace[]])
    .default("rel1000")
    .describe("Units of bbox_2d: rel1000 (0–1000, default), rel999, unit (0–1) or pixel."),
  label: labelSchema.optional().describe("What the region shows."),
  ...imageSelectorShape,
});

const outputSchema = z.object({
  image: imageSummarySchema.describe("The cropped image."),
  source: imageSummarySchema,
  region: regionSchema.describe("The region cropped from the source (rounded to whole pixels)."),
});

export const cropTool: ToolDefinition<typeof inputSchema, typeof outputSchema, ToolContext> = {
  name: "image_crop",
  title: "Crop",
  description:
    "Crop a region of an image at its original resolution (no enlargement). bbox_2d is [x1, y1, x2, y2] in 0–1000 relative coordinates unless `space` says otherwise.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async run(input, context, options) {
    const source = await selectImage(input, context, options.signal);
    const box = parseBox(input.bbox_2d, input.space ?? "rel1000", source);
    const rect = pixelRect(box, source);
    const pixels = await context.store.work.run(
      rect.width * rect.height * 3,
      `Cropping ${source.id}`,
      async () => cropPixels(context.store.pixels(source.id), rect),
      options.signal,
    );
    const cropped = context.store.derive(source.id, pixels, {
      operation: "crop",
      toParent: cropTransform(rect, rect),
      ...(input.label === undefined ? {} : { label: input.label }),
    });
    const region = describeRegion(source, rectBox(rect));
    return {
      structured: { image: imageSummary(cropped), source: imageSummary(source), region },
      images: [cropped.id],
      summary: `Cropped [${region.bbox_2d.join(", ")}] of ${source.id}: ${rect.width}×${rect.height} px as ${cropped.id}.`,
    };
  },
};
