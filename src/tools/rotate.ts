import { z } from "zod";
import { SquintError } from "../errors.js";
import { imageSelectorShape, imageSummary, imageSummarySchema, selectImage, type ToolContext } from "./context.js";
import { rotatedCanvas } from "./geometry.js";
import { rotatePixels } from "./store/pixel-ops.js";
import type { ToolDefinition } from "./tool.js";

/**
 * Rotates by any angle onto a canvas grown to hold the whole image. The transform back to the source is
 * recorded, so a box found on a straightened photo maps to the crooked original.
 */

const inputSchema = z.object({
  angle: z.number().describe("Degrees, clockwise (negative: counter-clockwise)."),
  background: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/)
    .default("#ffffff")
    .describe("Colour of the uncovered corners, as #rrggbb."),
  ...imageSelectorShape,
});

const affineSchema = z.object({
  a: z.number(),
  b: z.number(),
  c: z.number(),
  d: z.number(),
  e: z.number(),
  f: z.number(),
});

const outputSchema = z.object({
  image: imageSummarySchema.describe("The rotated image."),
  source: imageSummarySchema,
  angle: z.number().describe("The angle applied, reduced to [0, 360) degrees clockwise."),
  toSource: affineSchema.describe(
    "From the rotated image's pixels to the source's: x' = a·x + b·y + c, y' = d·x + e·y + f.",
  ),
});

function parseColour(hex: string): { r: number; g: number; b: number } {
  return {
    r: Number.parseInt(hex.slice(1, 3), 16),
    g: Number.parseInt(hex.slice(3, 5), 16),
    b: Number.parseInt(hex.slice(5, 7), 16),
  };
}

export const rotateTool: ToolDefinition<typeof inputSchema, typeof outputSchema, ToolContext> = {
  name: "image_rotate",
  title: "Rotate",
  description:
    "Rotate an image by any angle in degrees (clockwise; negative turns counter-clockwise). The canvas grows to keep the whole image; boxes on the result still map to the original.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async run(input, context, options) {
    if (!Number.isFinite(input.angle)) {
      throw new SquintError("INVALID_ARGUMENT", "angle must be a finite number of degrees.", {
        hint: "Give the angle in degrees, e.g. 90 or -12.5.",
      });
    }
    // Reduced to [0, 360) before anything sees it: libvips refuses huge angles ("parameter angle not set")
    // and 1e308 means the same turn as 1e308 mod 360.
    const angle = ((input.angle % 360) + 360) % 360;
    const source = await selectImage(input, context, options.signal);
    const canvas = rotatedCanvas(source, angle);
    // libvips holds the source, the rotated canvas and about one more canvas while it works.
    const work = (source.width * source.height + 2 * canvas.size.width * canvas.size.height) * 3;
    const pixels = await context.store.work.run(
      work,
      `Rotating ${source.id}`,
      () => rotatePixels(context.store.pixels(source.id), angle, parseColour(input.background ?? "#ffffff")),
      options.signal,
    );
    if (pixels.width !== canvas.size.width || pixels.height !== canvas.size.height) {
      // The transform assumes sharp's canvas; a different canvas would make every mapped box wrong.
      throw new SquintError("INTERNAL", "The rotated canvas does not have the size the transform assumes.", {
        details: { expected: canvas.size, got: { width: pixels.width, height: pixels.height }, angle },
      });
    }
    const rotated = context.store.derive(source.id, pixels, { operation: "rotate", toParent: canvas.toSource });
    return {
      structured: {
        image: imageSummary(rotated),
        source: imageSummary(source),
        angle,
        toSource: { ...canvas.toSource },
      },
      images: [rotated.id],
      summary: `Rotated ${source.id} by ${angle}° clockwise: ${rotated.width}×${rotated.height} as ${rotated.id}.`,
    };
  },
};
