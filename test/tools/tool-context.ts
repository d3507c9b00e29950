import { isSquintError } from "../../src/errors.js";
import { createToolContext, type ToolContext } from "../../src/tools/context.js";
import { ImageStore, type StoredImage } from "../../src/tools/store/image-store.js";
import type { RawImage } from "../../src/model/vision.js";
import { encode } from "./images.js";

/** A store holding one image (from pixels, losslessly) and a context over it. */
export async function contextWithImage(
  image: RawImage,
  extra: Partial<Pick<ToolContext, "locateModel" | "ocr">> = {},
): Promise<{ context: ToolContext; original: StoredImage }> {
  const store = new ImageStore();
  const original = await store.ingest(await encode(image), { source: "test image" });
  return { context: createToolContext({ store, ...extra }), original };
}

/** The SquintError code a promise rejects with (or a string saying it was something else). */
export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isSquintError(error) ? error.code : `not a SquintError: ${String(error)}`;
  }
  return undefined;
}
