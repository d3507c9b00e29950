import { createHash } from "node:crypto";
import { z } from "zod";
import { SquintError } from "../errors.js";
import type { RawImage } from "../model/vision.js";
import {
  applyToBox,
  applyToPoint,
  type Box,
  boxToTuple,
  fromPixelPoint,
  type Point,
  pointToTuple,
  toRel1000Tuple,
} from "./geometry.js";
import type { OcrResult, OcrScriptOption } from "./ocr/types.js";
import { type FileHashes, processFileHashes } from "./sources/file-hashes.js";
import { type ImageSource, loadImageReference } from "./sources/index.js";
import { defaultSourcePolicy, type SourcePolicy } from "./sources/policy.js";
import { IMAGE_ID_PATTERN, type ImageStore, type StoredImage } from "./store/image-store.js";

/**
 * What every image tool receives besides its input: the image store, a way to turn an image argument into a
 * stored image, and — for grounding — optional model and OCR functions. Narrow function types on purpose:
 * tools never see a Backend or an OCR engine, only "pixels in, text/boxes out".
 */

/** A vision-language model asked one question about one image; resolves to the reply text. */
export type LocateModel = (image: RawImage, prompt: string, signal?: AbortSignal) => Promise<string>;

/**
 * OCR over pixels; boxes in pixels of the image it was given (src/tools/ocr's result shape). `script` is a
 * hint a function may ignore: which characters lines may be read with (default "auto", per line).
 */
export type OcrFunction = (
  image: RawImage,
  signal?: AbortSignal,
  options?: { script?: OcrScriptOption },
) => Promise<OcrResult>;

export interface ToolContext {
  store: ImageStore;
  /** A store id, `squint://images/<id>` link, path, URL, data URI or base64 → the stored image. */
  resolveImage(reference: string, signal?: AbortSignal): Promise<StoredImage>;
  /**
   * The model's `img_idx`: the n-th image of the conversation (user images and earlier tool results, in
   * order). Only the agent knows the conversation, so only it provides this.
   */
  imageByIndex?(index: number): StoredImage | Promise<StoredImage>;
  locateModel?: LocateModel;
  ocr?: OcrFunction;
}

export interface ToolContextOptions {
  store: ImageStore;
  /** What paths and URLs an image argument may name; by default only ids, data URIs and base64. */
  policy?: SourcePolicy;
  /** What relative paths are relative to. */
  baseDir?: string;
  imageByIndex?: ToolContext["imageByIndex"];
  locateModel?: LocateModel;
  ocr?: OcrFunction;
  /** Content hashes of files read before (process-wide by default). */
  fileHashes?: FileHashes;
}

function describeSource(source: ImageSource): string {
  switch (source.kind) {
    case "path":
      return source.path;
    case "url":
      return source.url;
    case "data-uri":
      return `data URI (${source.mimeType})`;
    case "base64":
      return "base64";
  }
}

export function createToolContext(options: ToolContextOptions): ToolContext {
  const { store } = options;
  const policy = options.policy ?? defaultSourcePolicy();
  const fileHashes = options.fileHashes ?? processFileHashes();
  return {
    store,
    async resolveImage(reference, signal) {
      // An id this store would have made but no longer knows is a stale id, not a file of that name.
      if (IMAGE_ID_PATTERN.test(reference.trim())) return store.get(reference.trim());
      const load = (knownFile: (identity: string) => boolean) =>
        loadImageReference(reference, policy, {
          isImageId: (candidate) => store.has(candidate),
          knownFile,
          ...(signal ? { signal } : {}),
          ...(options.baseDir ? { baseDir: options.baseDir } : {}),
        });
      // A file whose version was read before and whose pixels are decoded now is checked but not read again.
      const decoded = (identity: string) => {
        const hash = fileHashes.get(identity);
        return hash !== undefined && store.hasDecoded(hash);
      };
      let loaded = await load(decoded);
      // Not pinned: an image named in a tool argument is cached (LRU) and can be sent again. A caller that
      // must keep an image for a whole run (the agent, for its conversation) ingests or retains it itself.
      if (loaded.kind === "known") {
        const hash = fileHashes.get(loaded.identity);
        const adopted =
          hash === undefined
            ? undefined
            : store.adoptDecoded(hash, { source: describeSource(loaded.source), pin: false });
        if (adopted) return adopted;
        // Evicted since the check: read the file after all.
        loaded = await load(() => false);
      }
      if (loaded.kind === "id") return store.get(loaded.id);
      if (loaded.kind === "known") throw new SquintError("INTERNAL", "A file was not read although asked to be.");
      const hash = createHash("sha256").update(loaded.bytes).digest("hex");
      if (loaded.identity !== undefined) fileHashes.set(loaded.identity, hash);
      return store.ingest(loaded.bytes, { source: describeSource(loaded.source), pin: false, hash });
    },
    ...(options.imageByIndex ? { imageByIndex: options.imageByIndex } : {}),
    ...(options.locateModel ? { locateModel: options.locateModel } : {}),
    ...(options.ocr ? { ocr: options.ocr } : {}),
  };
}

/**
 * Longest label a tool call may give an image. Labels are echoed in results, image records and resource
 * lists; unbounded, one 3 MB label made a reply too large for the client and 30 of 20 MB held 1.1 GiB.
 */
export const MAX_LABEL_CHARS = 200;

export const labelSchema = z.string().max(MAX_LABEL_CHARS, `A label is at most ${MAX_LABEL_CHARS} characters.`);

/** The two ways a tool call names its image: `image` (hosts over MCP) or `img_idx` (the model, as trained). */
export const imageSelectorShape = {
  image: z
    .string()
    .min(1)
    .optional()
    .describe("The image: an id from an earlier result, a file path, an http(s) URL or a data URI."),
  img_idx: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("The index of the image in the conversation (starting from 0); alternative to `image`."),
};

export async function selectImage(
  input: { image?: string | undefined; img_idx?: number | undefined },
  context: ToolContext,
  signal?: AbortSignal,
): Promise<StoredImage> {
  if (input.image !== undefined && input.img_idx !== undefined) {
    throw new SquintError("INVALID_ARGUMENT", "Give either `image` or `img_idx`, not both.", {
      hint: "Use `img_idx` for an image of the conversation, `image` for an id, path, URL or data URI.",
    });
  }
  if (input.image !== undefined) return context.resolveImage(input.image, signal);
  if (input.img_idx !== undefined) {
    if (!context.imageByIndex) {
      throw new SquintError("INVALID_ARGUMENT", "`img_idx` needs a conversation, and this call has none.", {
        hint: "Pass `image` (an image id, path, URL or data URI) instead of `img_idx`.",
      });
    }
    return context.imageByIndex(input.img_idx);
  }
  throw new SquintError("INVALID_ARGUMENT", "No image given.", {
    hint: "Pass `image` (an image id, path, URL or data URI) or `img_idx` (an image of the conversation).",
  });
}

/** A stored image as results describe it. */
export const imageSummarySchema = z.object({
  id: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  originalId: z.string(),
});

export function imageSummary(image: StoredImage): z.infer<typeof imageSummarySchema> {
  return { id: image.id, width: image.width, height: image.height, originalId: image.originalId };
}

const boxTuple = z.tuple([z.number(), z.number(), z.number(), z.number()]);
const pointTuple = z.tuple([z.number(), z.number()]);

/** A box as results give it: on the tool's image in 0–1000 and in pixels, and in the original's pixels. */
export const regionSchema = z.object({
  bbox_2d: boxTuple.describe("On the image the tool worked on, 0–1000 relative (Qwen3-VL's bbox_2d)."),
  pixels: boxTuple.describe("On the image the tool worked on, in pixels."),
  originalPixels: boxTuple.describe("On the original image (the one the user gave), in pixels."),
});

export const pointRegionSchema = z.object({
  point_2d: pointTuple,
  pixels: pointTuple,
  originalPixels: pointTuple,
});

/** `box` in `image`'s pixels, described in all three ways. */
export function describeRegion(image: StoredImage, box: Box): z.infer<typeof regionSchema> {
  return {
    bbox_2d: toRel1000Tuple(box, image),
    pixels: boxToTuple(box, 2),
    originalPixels: boxToTuple(applyToBox(image.toOriginal, box), 2),
  };
}

export function describePoint(image: StoredImage, point: Point): z.infer<typeof pointRegionSchema> {
  const rel = fromPixelPoint(point, "rel1000", image);
  return {
    point_2d: [Math.round(rel.x), Math.round(rel.y)],
    pixels: pointToTuple(point, 2),
    originalPixels: pointToTuple(applyToPoint(image.toOriginal, point), 2),
  };
}
