import { z } from "zod";
import { SquintError } from "../errors.js";
import {
  describePoint,
  describeRegion,
  imageSelectorShape,
  imageSummary,
  imageSummarySchema,
  pointRegionSchema,
  regionSchema,
  selectImage,
  type ToolContext,
} from "./context.js";
import {
  type Box,
  type CoordinateSpace,
  coordinateSpaces,
  identity,
  type Point,
  parseBox,
  parsePoint,
  type Size,
} from "./geometry.js";
import { overlaySvg } from "./store/pixel-ops.js";
import type { ToolDefinition } from "./tool.js";

/**
 * Draws labelled boxes and points on a copy of an image: for people checking what the model found, and for the
 * model itself (set-of-marks style). The overlay is an SVG generated here and composited by sharp.
 */

const colourSchema = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/)
  .optional()
  .describe("#rrggbb; a palette colour by default.");

const inputSchema = z.object({
  boxes: z
    .array(
      z.object({ bbox_2d: z.array(z.number()).length(4), label: z.string().max(200).optional(), color: colourSchema }),
    )
    .max(200)
    .default([])
    .describe("Boxes to draw, [x1, y1, x2, y2] each."),
  points: z
    .array(
      z.object({ point_2d: z.array(z.number()).length(2), label: z.string().max(200).optional(), color: colourSchema }),
    )
    .max(200)
    .default([])
    .describe("Points to mark, [x, y] each."),
  space: z
    .enum(coordinateSpaces as [CoordinateSpace, ...CoordinateSpace[]])
    .default("rel1000")
    .describe("Units of the coordinates: rel1000 (0–1000, default), rel999, unit (0–1) or pixel."),
  ...imageSelectorShape,
});

const outputSchema = z.object({
  image: imageSummarySchema.describe("The annotated copy."),
  source: imageSummarySchema,
  boxes: z.array(regionSchema.extend({ label: z.string().optional() })),
  points: z.array(pointRegionSchema.extend({ label: z.string().optional() })),
});

/** High-contrast colours that stay distinct for most colour-blind viewers (Okabe–Ito). */
export const ANNOTATION_PALETTE = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"];

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Mark {
  label?: string | undefined;
  colour: string;
}

/** The SVG overlay; exported so tests can check what is drawn without decoding pixels. */
export function annotationSvg(size: Size, boxes: (Mark & { box: Box })[], points: (Mark & { point: Point })[]): string {
  const stroke = Math.max(2, Math.round(Math.min(size.width, size.height) / 250));
  const font = Math.max(12, Math.round(Math.min(size.width, size.height) / 40));
  const parts: string[] = [];
  const label = (text: string, x: number, y: number, colour: string) => {
    const width = Math.ceil(text.length * font * 0.62) + 8;
    const top = Math.max(0, y - font - 6);
    parts.push(
      `<rect x="${x}" y="${top}" width="${width}" height="${font + 6}" fill="${colour}"/>`,
      `<text x="${x + 4}" y="${top + font}" font-family="sans-serif" font-size="${font}" fill="#000000">${escapeXml(text)}</text>`,
    );
  };
  for (const mark of boxes) {
    const { x1, y1, x2, y2 } = mark.box;
    parts.push(
      `<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="${mark.colour}" stroke-width="${stroke}"/>`,
    );
    if (mark.label) label(mark.label, x1, y1, mark.colour);
  }
  for (const mark of points) {
    const r = stroke * 3;
    parts.push(
      `<circle cx="${mark.point.x}" cy="${mark.point.y}" r="${r}" fill="${mark.colour}" stroke="#ffffff" stroke-width="${Math.max(1, stroke / 2)}"/>`,
    );
    if (mark.label) label(mark.label, mark.point.x + r, mark.point.y - r, mark.colour);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}">${parts.join("")}</svg>`;
}

export const annotateTool: ToolDefinition<typeof inputSchema, typeof outputSchema, ToolContext> = {
  name: "image_annotate",
  title: "Annotate",
  description:
    "Draw labelled boxes and points on a copy of an image (coordinates in 0–1000 relative units unless `space` says otherwise). Returns the annotated image.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async run(input, context, options) {
    const boxesIn = input.boxes ?? [];
    const pointsIn = input.points ?? [];
    if (boxesIn.length === 0 && pointsIn.length === 0) {
      throw new SquintError("INVALID_ARGUMENT", "Nothing to draw.", {
        hint: "Give at least one box (bbox_2d) or point (point_2d).",
      });
    }
    const space = input.space ?? "rel1000";
    const source = await selectImage(input, context, options.signal);
    let next = 0;
    const colourOf = (given: string | undefined) => given ?? ANNOTATION_PALETTE[next++ % ANNOTATION_PALETTE.length]!;
    const boxes = boxesIn.map((b, i) => ({
      box: parseBox(b.bbox_2d, space, source, `boxes[${i}].bbox_2d`),
      label: b.label,
      colour: colourOf(b.color),
    }));
    const points = pointsIn.map((p, i) => ({
      point: parsePoint(p.point_2d, space, source, `points[${i}].point_2d`),
      label: p.label,
      colour: colourOf(p.color),
    }));
    const pixels = await context.store.work.run(
      source.width * source.height * 3 * 3,
      `Annotating ${source.id}`,
      () => overlaySvg(context.store.pixels(source.id), annotationSvg(source, boxes, points)),
      options.signal,
    );
    const annotated = context.store.derive(source.id, pixels, { operation: "annotate", toParent: identity });
    return {
      structured: {
        image: imageSummary(annotated),
        source: imageSummary(source),
        boxes: boxes.map((b) => ({ ...describeRegion(source, b.box), ...(b.label ? { label: b.label } : {}) })),
        points: points.map((p) => ({ ...describePoint(source, p.point), ...(p.label ? { label: p.label } : {}) })),
      },
      images: [annotated.id],
      summary: `Drew ${boxes.length} box(es) and ${points.length} point(s) on ${source.id} as ${annotated.id}.`,
    };
  },
};
