import { z } from "zod";
import { SquintError } from "../errors.js";
import { imageSelectorShape, imageSummary, imageSummarySchema, selectImage, type ToolContext } from "./context.js";
import { identity } from "./geometry.js";
import { enhancePixels } from "./store/pixel-ops.js";
import type { ToolDefinition } from "./tool.js";

/**
 * Makes faint things legible: greyscale, contrast, normalise, sharpen, threshold, invert. Pixels keep their
 * places, so the new image's transform to its source is the identity.
 */

/**
 * Most pixels × sharpen sigma one call may ask for (about 1.5 s of CPU): 8192² up to sigma 1.9, 4096² up to
 * 7.6, 3578² and smaller up to the schema's 10.
 */
export const MAX_SHARPEN_WORK = 128 * 1024 * 1024;

const inputSchema = z.object({
  greyscale: z.boolean().optional().describe("Convert to greyscale."),
  normalize: z.boolean().optional().describe("Stretch the brightness range to full black..white."),
  contrast: z.number().min(0).max(10).optional().describe("Contrast factor about mid-grey: 1 unchanged, 2 doubled."),
  sharpen: z.number().min(0.3).max(10).optional().describe("Sharpen with this radius (sigma) in pixels, e.g. 1."),
  threshold: z.number().int().min(0).max(255).optional().describe("Black and white at this brightness (0–255)."),
  invert: z.boolean().optional().describe("Invert colours (light text on dark becomes dark on light)."),
  ...imageSelectorShape,
});

const outputSchema = z.object({
  image: imageSummarySchema.describe("The enhanced image (same size as the source)."),
  source: imageSummarySchema,
  applied: z.array(z.string()).describe("The steps applied, in order."),
});

export const enhanceTool: ToolDefinition<typeof inputSchema, typeof outputSchema, ToolContext> = {
  name: "image_enhance",
  title: "Enhance",
  description:
    "Enhance an image for reading: greyscale, normalize, contrast, sharpen, threshold, invert (applied in that order). Returns a new image of the same size.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async run(input, context, options) {
    const applied = [
      input.greyscale ? "greyscale" : undefined,
      input.normalize ? "normalize" : undefined,
      input.contrast !== undefined && input.contrast !== 1 ? `contrast ${input.contrast}` : undefined,
      input.sharpen !== undefined ? `sharpen ${input.sharpen}` : undefined,
      input.threshold !== undefined ? `threshold ${input.threshold}` : undefined,
      input.invert ? "invert" : undefined,
    ].filter((step): step is string => step !== undefined);
    if (applied.length === 0) {
      throw new SquintError("INVALID_ARGUMENT", "No enhancement was asked for.", {
        hint: "Set at least one of greyscale, normalize, contrast, sharpen, threshold or invert.",
      });
    }
    const source = await selectImage(input, context, options.signal);
    const pixelCount = source.width * source.height;
    if (input.sharpen !== undefined && pixelCount * input.sharpen > MAX_SHARPEN_WORK) {
      // Unsharp masking costs about pixels × sigma (sigma 10 on 8192² took 48 s of CPU): bounded.
      const largest = Math.floor((MAX_SHARPEN_WORK / pixelCount) * 10) / 10;
      throw new SquintError(
        "RESOURCE_EXHAUSTED",
        `Sharpening ${source.width}×${source.height} px with sigma ${input.sharpen} is over the sharpen limit (pixels × sigma ≤ ${MAX_SHARPEN_WORK}).`,
        {
          hint:
            largest >= 0.3
              ? `Use sharpen ≤ ${largest} on this image, or crop/zoom into the region first.`
              : "Crop or zoom into the region first, then sharpen that.",
          details: {
            width: source.width,
            height: source.height,
            sharpen: input.sharpen,
            maxSharpenWork: MAX_SHARPEN_WORK,
          },
        },
      );
    }
    // The source buffer, libvips' working copies and the result.
    const pixels = await context.store.work.run(
      pixelCount * 3 * 3,
      `Enhancing ${source.id}`,
      () => enhancePixels(context.store.pixels(source.id), input),
      options.signal,
    );
    const enhanced = context.store.derive(source.id, pixels, { operation: "enhance", toParent: identity });
    return {
      structured: { image: imageSummary(enhanced), source: imageSummary(source), applied },
      images: [enhanced.id],
      summary: `Enhanced ${source.id} (${applied.join(", ")}) as ${enhanced.id}.`,
    };
  },
};
