import { randomBytes } from "node:crypto";
import { SquintError } from "../errors.js";
import { loadImageReference } from "../tools/sources/index.js";
import type { SourcePolicy } from "../tools/sources/policy.js";
import type { ImageStore, StoredImage } from "../tools/store/image-store.js";

/**
 * The images a request names, as images in the server's one store. A request may give a data URL, an
 * http(s) URL (fetched under the same SSRF rules as the MCP server: public hosts only unless allowed,
 * every redirect re-checked, size and time capped) or the id of an image uploaded with POST /v1/images.
 * Never a file path, and never a store id: store ids are sequential, so accepting them would let one
 * client read another's images. Upload ids are random.
 *
 * Uploads live in a bounded table with expiry: at most `maxUploads`, each until `ttlMs` after its last
 * use; the oldest is dropped when the table is full. An upload pins its image in the store; dropping it
 * unpins it, and the store's LRU frees the pixels when memory is needed.
 */

export const UPLOAD_ID_PATTERN = /^upl_[A-Za-z0-9_-]{16,64}$/;

interface Upload {
  storeId: string;
  expiresAt: number;
}

export interface UploadInfo {
  id: string;
  width: number;
  height: number;
  format: string;
  expiresAt: number;
}

export class UploadTable {
  readonly #store: ImageStore;
  readonly #maxUploads: number;
  readonly #ttlMs: number;
  /** Map order is recency order. */
  readonly #uploads = new Map<string, Upload>();

  constructor(store: ImageStore, options: { maxUploads: number; ttlMs: number }) {
    this.#store = store;
    this.#maxUploads = options.maxUploads;
    this.#ttlMs = options.ttlMs;
  }

  get size(): number {
    this.#expire();
    return this.#uploads.size;
  }

  /** `image` is already ingested and pinned once for this upload. */
  add(image: StoredImage): UploadInfo {
    this.#expire();
    while (this.#uploads.size >= this.#maxUploads) {
      const [oldest] = this.#uploads.keys();
      this.#drop(oldest!);
    }
    const id = `upl_${randomBytes(18).toString("base64url")}`;
    const expiresAt = Date.now() + this.#ttlMs;
    this.#uploads.set(id, { storeId: image.id, expiresAt });
    return { id, width: image.width, height: image.height, format: image.format, expiresAt };
  }

  /** The stored image of an upload, extending its life; NOT_FOUND for unknown or expired ids. */
  get(id: string): StoredImage {
    this.#expire();
    const upload = this.#uploads.get(id);
    if (!upload) {
      throw new SquintError("NOT_FOUND", `No uploaded image ${id} (unknown, or expired).`, {
        hint: `Upload it again with POST /v1/images; uploads expire ${Math.round(this.#ttlMs / 1000)} s after their last use.`,
      });
    }
    this.#uploads.delete(id);
    upload.expiresAt = Date.now() + this.#ttlMs;
    this.#uploads.set(id, upload);
    return this.#store.get(upload.storeId);
  }

  delete(id: string): boolean {
    if (!this.#uploads.has(id)) return false;
    this.#drop(id);
    return true;
  }

  clear(): void {
    for (const id of [...this.#uploads.keys()]) this.#drop(id);
  }

  #drop(id: string): void {
    const upload = this.#uploads.get(id);
    if (!upload) return;
    this.#uploads.delete(id);
    this.#store.release(upload.storeId);
  }

  #expire(): void {
    const now = Date.now();
    for (const [id, upload] of this.#uploads) {
      if (upload.expiresAt <= now) this.#drop(id);
    }
  }
}

export interface RequestImages {
  /** The images, in the order named, each pinned until `release`. */
  images: StoredImage[];
  release(): void;
}

/**
 * Reads and decodes the images a request names. Each is pinned for the request (uploads get an extra pin),
 * so a concurrent burst cannot evict an image a running request still uses.
 */
export async function resolveRequestImages(
  references: readonly string[],
  context: { store: ImageStore; uploads: UploadTable; policy: SourcePolicy; signal?: AbortSignal },
): Promise<RequestImages> {
  const { store, uploads, policy, signal } = context;
  const pinned: string[] = [];
  const release = () => {
    for (const id of pinned.splice(0)) store.release(id);
  };
  try {
    const images: StoredImage[] = [];
    for (const [index, raw] of references.entries()) {
      const reference = raw.trim();
      if (UPLOAD_ID_PATTERN.test(reference)) {
        const image = uploads.get(reference);
        store.retain(image.id);
        pinned.push(image.id);
        images.push(image);
        continue;
      }
      if (!/^data:/i.test(reference) && !/^https?:\/\//i.test(reference)) {
        throw new SquintError(
          "INVALID_ARGUMENT",
          `Image ${index} is neither a data URL, an http(s) URL nor an uploaded image id.`,
          {
            hint: 'Send "data:image/png;base64,…", an https:// URL, or the id POST /v1/images returned (upl_…).',
          },
        );
      }
      const loaded = await loadImageReference(reference, policy, { ...(signal ? { signal } : {}) });
      if (loaded.kind !== "bytes") {
        throw new SquintError("INVALID_ARGUMENT", `Image ${index} could not be read.`, {
          hint: "Send a data URL or an http(s) URL.",
        });
      }
      const source = loaded.source.kind === "url" ? loaded.source.url : `data URL (${index})`;
      const image = await store.ingest(loaded.bytes, { source, pin: true });
      pinned.push(image.id);
      images.push(image);
    }
    return { images, release };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Waits for both the admission ticket and the request's images (read and decoded while the request waits
 * its turn). If either fails, images already pinned are released and the first failure is thrown.
 */
export async function imagesWhenAdmitted(
  granted: Promise<void>,
  resolving: Promise<RequestImages>,
): Promise<RequestImages> {
  const [admission, images] = await Promise.allSettled([granted, resolving]);
  if (admission.status === "rejected") {
    if (images.status === "fulfilled") images.value.release();
    throw admission.reason;
  }
  if (images.status === "rejected") throw images.reason;
  return images.value;
}
