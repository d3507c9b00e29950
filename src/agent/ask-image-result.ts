import { z } from "zod";
import type { TraceStep } from "./context.js";
import { isSquintError } from "../errors.js";
import { parseGrounding } from "../model/grounding.js";
import { describeRegion } from "../tools/context.js";
import { parseBox } from "../tools/geometry.js";
import type { StoredImage } from "../tools/store/image-store.js";

/**
 * What `ask_image` reports besides the answer: the tool calls the model made (one entry per call, in order) and
 * every box the run produced, in the pixels of the original image it lies on. Boxes come from two places: tool
 * results that carry a region or matches (zoom, crop, locate — already mapped through the image's lineage by the
 * tool), and grounding JSON in the answer text.
 */

const boxTuple = z.tuple([z.number(), z.number(), z.number(), z.number()]);

export const askImageStepSchema = z.object({
  step: z.number().int().describe("The model turn (from 1) that made the call."),
  tool: z.string(),
  arguments: z.record(z.string(), z.unknown()).describe("As the model wrote them (img_idx counts the run's images)."),
  ok: z.boolean(),
  summary: z.string().describe("What the tool told the model."),
  images: z.array(z.string()).describe("Ids of the images the call produced (readable as squint://images/<id>)."),
});

export const askImageBoxSchema = z.object({
  label: z.string().optional(),
  box: boxTuple.describe("[x1, y1, x2, y2] in pixels of the original image `image`."),
  image: z.string().describe("Id of the original image the box lies on."),
  from: z.string().describe('Where it came from: a tool name, or "answer" for grounding JSON in the answer.'),
  step: z.number().int(),
});

export type AskImageStep = z.infer<typeof askImageStepSchema>;
export type AskImageBox = z.infer<typeof askImageBoxSchema>;

export function stepsOf(trace: readonly TraceStep[]): AskImageStep[] {
  return trace.flatMap((step) =>
    step.calls.map((call) => ({
      step: step.step,
      tool: call.toolName,
      arguments: call.input,
      ok: call.ok,
      summary: call.summary,
      images: call.images.map((image) => image.storeId),
    })),
  );
}

// Tool results are read by shape, not by tool name: any tool (built-in or a future one) that reports a region or
// matches with `originalPixels` contributes its boxes. Parsed leniently: a result without them adds nothing.
const regionResult = z.object({
  region: z.object({ originalPixels: boxTuple }),
  source: z.object({ originalId: z.string() }),
  label: z.string().optional(),
});

const matchesResult = z.object({
  matches: z.array(
    z.object({
      label: z.string().optional(),
      text: z.string().optional(),
      box: z.object({ originalPixels: boxTuple }).optional(),
    }),
  ),
  source: z.object({ originalId: z.string() }),
});

function boxesOfCall(structured: unknown, args: Record<string, unknown>, from: string, step: number): AskImageBox[] {
  const region = regionResult.safeParse(structured);
  if (region.success) {
    const label = region.data.label ?? (typeof args.label === "string" ? args.label : undefined);
    return [
      {
        ...(label ? { label } : {}),
        box: region.data.region.originalPixels,
        image: region.data.source.originalId,
        from,
        step,
      },
    ];
  }
  const matches = matchesResult.safeParse(structured);
  if (!matches.success) return [];
  return matches.data.matches.flatMap((match) => {
    if (!match.box) return [];
    const label = match.label ?? match.text;
    return [
      { ...(label ? { label } : {}), box: match.box.originalPixels, image: matches.data.source.originalId, from, step },
    ];
  });
}

/**
 * Boxes in the answer are 0–1000 units of "the image the model looked at" (spec §6). With no way to tell which one
 * it meant, they are read on the first image the caller gave (img_idx 0) — what grounding questions about one
 * image mean. Boxes outside 0–1000 or malformed are left out, never guessed.
 */
function boxesOfAnswer(answer: string, image: StoredImage, step: number): AskImageBox[] {
  const boxes: AskImageBox[] = [];
  for (const item of parseGrounding(answer)) {
    if (item.kind !== "box") continue;
    try {
      const box = parseBox(item.bbox, "rel1000", image);
      boxes.push({
        ...(item.label ? { label: item.label } : {}),
        box: describeRegion(image, box).originalPixels,
        image: image.originalId,
        from: "answer",
        step,
      });
    } catch (error) {
      if (!isSquintError(error)) throw error;
    }
  }
  return boxes;
}

export function boxesOf(
  trace: readonly TraceStep[],
  answer: string | null,
  firstImage: StoredImage | undefined,
): AskImageBox[] {
  const boxes = trace.flatMap((step) =>
    step.calls.flatMap((call) =>
      call.ok && call.structured !== undefined
        ? boxesOfCall(call.structured, call.input, call.toolName, step.step)
        : [],
    ),
  );
  if (answer !== null && firstImage) boxes.push(...boxesOfAnswer(answer, firstImage, trace.at(-1)?.step ?? 1));
  return boxes;
}
