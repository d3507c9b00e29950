import { decodeBase64Image, decodeDataUri } from "./data-uri.js";
import { readImageFileUnlessKnown } from "./path.js";
import type { SourcePolicy } from "./policy.js";
import { type ClassifyOptions, classifyImageReference } from "./reference.js";
import { fetchImageUrl, redactUrl } from "./url.js";

/**
 * One entry point for an image argument: say what it is, then read it under the policy. A stored id is
 * returned as is (the store looks it up); everything else comes back as bytes plus where they came from,
 * ready for the store's `ingest(bytes, { source })`. Decoding (format sniffing, pixel limits, EXIF) is the
 * store's job, not this module's.
 */
export type ImageSource =
  | { kind: "path"; path: string }
  | { kind: "url"; url: string; contentType?: string }
  | { kind: "data-uri"; mimeType: string }
  | { kind: "base64" };

export type LoadedReference =
  | { kind: "id"; id: string }
  /** `identity`: for a file, which version of it the bytes are (see fileIdentity). */
  | { kind: "bytes"; bytes: Uint8Array; source: ImageSource; identity?: string }
  /** A file the caller already has in this version (`knownFile` said so): checked, not read. */
  | { kind: "known"; identity: string; source: ImageSource };

export interface LoadReferenceOptions extends ClassifyOptions {
  signal?: AbortSignal;
  /** Says whether the caller already has this version of a file (then its bytes are not read). */
  knownFile?: (identity: string) => boolean;
  /** What relative paths are relative to; the process's working directory by default. */
  baseDir?: string;
}

export async function loadImageReference(
  reference: string,
  policy: SourcePolicy,
  options: LoadReferenceOptions = {},
): Promise<LoadedReference> {
  const classified = classifyImageReference(reference, options);
  switch (classified.kind) {
    case "id":
      return classified;
    case "path": {
      const file = await readImageFileUnlessKnown(
        classified.path,
        {
          allowedDirs: policy.allowedDirs,
          maxBytes: policy.maxBytes,
          baseDir: options.baseDir,
          signal: options.signal,
        },
        options.knownFile ?? (() => false),
      );
      const source: ImageSource = { kind: "path", path: file.path };
      if ("known" in file) return { kind: "known", identity: file.identity, source };
      return { kind: "bytes", bytes: file.bytes, source, identity: file.identity };
    }
    case "url": {
      const download = await fetchImageUrl(classified.url, policy, { signal: options.signal });
      return {
        kind: "bytes",
        bytes: download.bytes,
        source: {
          kind: "url",
          url: redactUrl(download.url),
          ...(download.contentType ? { contentType: download.contentType } : {}),
        },
      };
    }
    case "data-uri": {
      const data = decodeDataUri(classified.uri, policy.maxBytes);
      return { kind: "bytes", bytes: data.bytes, source: { kind: "data-uri", mimeType: data.mimeType } };
    }
    case "base64":
      return {
        kind: "bytes",
        bytes: decodeBase64Image(classified.base64, policy.maxBytes),
        source: { kind: "base64" },
      };
  }
}

export { blockedAddressReason, isPublicAddress } from "./address.js";
export { decodeBase64Image, decodeDataUri } from "./data-uri.js";
export { fileIdentity, readImageFile, readImageFileUnlessKnown } from "./path.js";
export {
  DEFAULT_FETCH_TIMEOUT_MS,
  DEFAULT_MAX_IMAGE_BYTES,
  DEFAULT_MAX_REDIRECTS,
  defaultSourcePolicy,
  type SourcePolicy,
} from "./policy.js";
export { classifyImageReference, IMAGE_URI_PREFIX, type ImageReference, imageUri, parseImageUri } from "./reference.js";
export { checkUrlBeforeFetch, fetchImageUrl, redactUrl } from "./url.js";
