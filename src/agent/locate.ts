import { SquintError, toSquintError } from "../errors.js";
import type { RawImage } from "../model/vision.js";
import type { Backend } from "../runtime/backend.js";
import { createToolContext, type LocateModel, type OcrFunction } from "../tools/context.js";
import { locateTool } from "../tools/locate.js";
import { defaultSourcePolicy, type SourcePolicy } from "../tools/sources/policy.js";
import { ImageStore } from "../tools/store/image-store.js";
import { type AgentImageInput, ingestImage } from "./image-input.js";

/**
 * `locate(image, query, options)`: where is X in this image, as boxes in the pixels of the image the caller
 * gave (not of a resized or cropped view). It runs the built-in `locate` tool with the backend as its model:
 * the cookbook's grounding prompt, 0–1000 answers read by the model's grounding parser, a second look inside a
 * crop for small targets, and every box mapped back through the crop's lineage.
 */

const LOCATE_IMAGE_REFERENCE = "squint-locate:image";

/** The backend as the narrow "one image, one prompt → reply text" function tools take. */
export function backendLocateModel(backend: Backend, maxOutputTokens = 1024): LocateModel {
  return async (image: RawImage, prompt: string, signal?: AbortSignal) => {
    let text = "";
    for await (const event of backend.generate({
      messages: [
        {
          role: "user",
          content: [
            { type: "image", image: LOCATE_IMAGE_REFERENCE },
            { type: "text", text: prompt },
          ],
        },
      ],
      thinking: backend.info.thinking,
      maxOutputTokens,
      ...(signal ? { signal } : {}),
      resolveImage: async (reference) => {
        if (reference !== LOCATE_IMAGE_REFERENCE) {
          throw new SquintError("INTERNAL", `locate asked the backend for an unknown image ${reference}.`);
        }
        return image;
      },
    })) {
      if (event.type === "text-delta") text += event.text;
    }
    signal?.throwIfAborted();
    return text;
  };
}

export interface LocateOptions {
  backend?: Backend;
  /** OCR for text targets when there is no backend (or with mode "ocr"). */
  ocr?: OcrFunction;
  mode?: "auto" | "model" | "ocr";
  /** Look again inside a crop around each answer (default: only small targets on large images). */
  deep?: boolean;
  maxResults?: number;
  signal?: AbortSignal;
  store?: ImageStore;
  /** What a path or URL image may name (paths anywhere and public URLs by default). */
  policy?: SourcePolicy;
}

export interface LocatedBox {
  label?: string;
  text?: string;
  /** [x1, y1, x2, y2] in the pixels of the image given. */
  box?: [number, number, number, number];
  /** [x, y] in the pixels of the image given (point answers). */
  point?: [number, number];
  /** Where to click, in the pixels of the image given. */
  center: [number, number];
  refined: boolean;
}

export interface LocateResult {
  found: boolean;
  method: "model" | "ocr";
  /** The size of the image given, after EXIF orientation. */
  size: { width: number; height: number };
  matches: LocatedBox[];
  modelCalls: number;
}

export async function locate(
  image: AgentImageInput,
  query: string,
  options: LocateOptions = {},
): Promise<LocateResult> {
  const store = options.store ?? new ImageStore();
  const policy = options.policy ?? defaultSourcePolicy({ allowedDirs: ["/"] });
  const context = createToolContext({
    store,
    policy,
    ...(options.backend ? { locateModel: backendLocateModel(options.backend) } : {}),
    ...(options.ocr ? { ocr: options.ocr } : {}),
  });
  const stored = await ingestImage(store, image, policy, options.signal);
  const input = locateTool.inputSchema.parse({
    query,
    image: stored.id,
    mode: options.mode ?? "auto",
    ...(options.deep === undefined ? {} : { deep: options.deep }),
    ...(options.maxResults === undefined ? {} : { max_results: options.maxResults }),
  });
  let output: Awaited<ReturnType<typeof locateTool.run>>;
  try {
    output = await locateTool.run(input, context, options.signal ? { signal: options.signal } : {});
  } catch (error) {
    throw toSquintError(error, "TOOL_FAILED");
  }
  const result = output.structured;
  return {
    found: result.found,
    method: result.method,
    size: { width: stored.width, height: stored.height },
    matches: result.matches.map((match) => ({
      ...(match.label === undefined ? {} : { label: match.label }),
      ...(match.text === undefined ? {} : { text: match.text }),
      ...(match.box ? { box: match.box.originalPixels } : {}),
      ...(match.point ? { point: match.point.originalPixels } : {}),
      center: match.center,
      refined: match.refined,
    })),
    modelCalls: result.modelCalls,
  };
}
