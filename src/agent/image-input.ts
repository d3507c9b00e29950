import type { SourcePolicy } from "../tools/sources/policy.js";
import { createToolContext } from "../tools/context.js";
import type { ImageStore, StoredImage } from "../tools/store/image-store.js";

/** An image as a caller gives it: a path, URL or data URI, or the encoded bytes. */
export type AgentImageInput = string | Uint8Array;

/**
 * Puts a caller's image into the store: bytes as they are, names through the source policy (which decides what
 * paths and URLs a caller may name). `agent.run` and `locate` take images the same way through this.
 */
export async function ingestImage(
  store: ImageStore,
  image: AgentImageInput,
  policy: SourcePolicy,
  signal?: AbortSignal,
): Promise<StoredImage> {
  if (image instanceof Uint8Array) return store.ingest(image, { source: "buffer" });
  return createToolContext({ store, policy }).resolveImage(image, signal);
}
