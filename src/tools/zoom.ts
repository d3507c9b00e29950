import { z } from "zod";
import { shrinkRaw } from "../model/image-decode.js";
import type { ToolSpec } from "../model/messages.js";
import { isShrink, type ResizedSize, roundHalfEven, smartResize } from "../model/vision.js";
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
import { cropTransform, growSmallBox, parseBox, pixelRect, rectBox } from "./geometry.js";
import { processResizePool } from "./store/resize-pool.js";
import type { ToolDefinition } from "./tool.js";

/**
 * `image_zoom_in_tool`, as Qwen3-VL was trained to call it (Qwen-Agent's image_zoom_in_qwen3vl.py, spec §7):
 * bbox_2d in 0–1000 of the chosen image, boxes under 32 px grown about their centre, the crop rounded the way
 * PIL rounds it, then enlarged with qwen-vl-utils' smart_resize (factor 32, min 256·32², max 12845056) and
 * bicubic. The new image records its crop-and-scale transform, so zooming into a zoom maps back exactly.
 *
 * The bicubic is Pillow's bit for bit whenever a side grows (every zoom into a box of a sign or a face; a
 * resize thread does it). A crop over the 12.8 MP budget is shrunk instead, and that is libvips' Catmull-Rom
 * (the same kernel, widened the same way; within ~1e-3 of Pillow on photos, see test/tools/zoom-shrink.test.ts):
 * in JavaScript a near-full zoom of an 8192² photo cost ~3 s of CPU, taken from every other call on the server.
 */

export const ZOOM_TOOL_NAME = "image_zoom_in_tool";

/** Qwen-Agent's constants for this tool. */
export const ZOOM_MIN_SIDE = 32;
export const ZOOM_RESIZE = { factor: 32, minPixels: 256 * 32 * 32, maxPixels: 12_845_056 } as const;

/**
 * The size a crop is enlarged to. For crops of 32 px and more a side this is smartResize exactly. Qwen-Agent's
 * copy of qwen-vl-utils' smart_resize also accepts smaller crops — a side under 32 px counts as
 * max(32, round(side/32)·32) before the pixel budget applies — where the HF variant refuses them. Such crops
 * happen: a box under 32 px whose grown box comes out at exactly 32 px is kept small (see growSmallBox).
 */
export function zoomedSize(height: number, width: number): ResizedSize {
  const { factor, minPixels, maxPixels } = ZOOM_RESIZE;
  if (height >= factor && width >= factor) return smartResize(height, width, ZOOM_RESIZE);
  let h = Math.max(factor, roundHalfEven(height / factor) * factor);
  let w = Math.max(factor, roundHalfEven(width / factor) * factor);
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: h, width: w };
}

const ZOOM_DESCRIPTION =
  "Zoom in on a specific region of an image by cropping it based on a bounding box (bbox) and an optional object label";

/**
 * The tool exactly as the model saw it in training (description and JSON schema of Qwen-Agent), for the
 * system prompt. The MCP schema below is a superset: `image` for hosts, `label` optional.
 */
export const zoomToolSpec: ToolSpec = {
  type: "function",
  function: {
    name: ZOOM_TOOL_NAME,
    description: ZOOM_DESCRIPTION,
    parameters: {
      type: "object",
      properties: {
        bbox_2d: {
          type: "array",
          items: { type: "number" },
          minItems: 4,
          maxItems: 4,
          description:
            "The bounding box of the region to zoom in, as [x1, y1, x2, y2], where (x1, y1) is the top-left corner and (x2, y2) is the bottom-right corner",
        },
        label: { type: "string", description: "The name or label of the object in the specified bounding box" },
        img_idx: { type: "number", description: "The index of the zoomed-in image (starting from 0)" },
      },
      required: ["bbox_2d", "label", "img_idx"],
    },
  },
};

const inputSchema = z.object({
  bbox_2d: z
    .array(z.number())
    .length(4)
    .describe(
      "The bounding box of the region to zoom in, as [x1, y1, x2, y2] in 0–1000 relative to the image, where (x1, y1) is the top-left corner and (x2, y2) is the bottom-right corner",
    ),
  label: labelSchema.optional().describe("The name or label of the object in the specified bounding box"),
  ...imageSelectorShape,
});

const outputSchema = z.object({
  image: imageSummarySchema.describe("The zoomed-in image."),
  source: imageSummarySchema.describe("The image that was zoomed into."),
  region: regionSchema.describe("The region actually cropped from the source (after clamping and growing)."),
  grown: z.boolean().describe("Whether the box was under 32 px and was grown about its centre."),
  scale: z.number().describe("Zoomed pixels per source pixel (horizontal)."),
  label: z.string().optional(),
});

export const zoomTool: ToolDefinition<typeof inputSchema, typeof outputSchema, ToolContext> = {
  name: ZOOM_TOOL_NAME,
  title: "Zoom in",
  description: `${ZOOM_DESCRIPTION}. bbox_2d is [x1, y1, x2, y2] in 0–1000 relative to the image; the crop is enlarged for a closer look and returned as a new image whose boxes map back to the original.`,
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async run(input, context, options) {
    const source = await selectImage(input, context, options.signal);
    const requested = parseBox(input.bbox_2d, "rel1000", source);
    const { box, grown } = growSmallBox(requested, source, ZOOM_MIN_SIDE);
    const rect = pixelRect(box, source);
    const size = zoomedSize(rect.height, rect.width);
    // Held while it runs: the crop, the horizontal pass (new width × old height) and the result.
    const work = (rect.width * rect.height + size.width * rect.height + size.width * size.height) * 3;
    const lane = context.store.work.laneOf(work);
    const pixels = await context.store.work.run(
      work,
      `Zooming into ${source.id}`,
      async () => {
        options.signal?.throwIfAborted();
        const pixels = context.store.pixels(source.id);
        if (isShrink(rect, size)) return shrinkRaw(pixels, size.width, size.height, rect);
        // Crop and resize in a thread of the job's lane: small zooms never queue behind large ones.
        return processResizePool().resize(pixels, size.width, size.height, { rect, lane });
      },
      options.signal,
    );
    const zoomed = context.store.derive(source.id, pixels, {
      operation: "zoom",
      toParent: cropTransform(rect, size),
      ...(input.label === undefined ? {} : { label: input.label }),
    });
    const region = describeRegion(source, rectBox(rect));
    const what = input.label ? ` (${input.label})` : "";
    return {
      structured: {
        image: imageSummary(zoomed),
        source: imageSummary(source),
        region,
        grown,
        scale: size.width / rect.width,
        ...(input.label === undefined ? {} : { label: input.label }),
      },
      images: [zoomed.id],
      summary:
        `Zoomed into [${region.bbox_2d.join(", ")}] of ${source.id}${what}: ` +
        `${rect.width}×${rect.height} px enlarged to ${size.width}×${size.height} as ${zoomed.id}.`,
    };
  },
};
