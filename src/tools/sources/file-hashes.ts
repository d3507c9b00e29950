/**
 * The SHA-256 of files' bytes, by file version (fileIdentity: device, inode, size, change times). The store
 * keys decoded originals by content hash; with this a path the server has already read and decoded is
 * recognised from its stat alone, without reading and hashing megabytes again on every call (the load bench's
 * fifty clients named the same photo in every call). Bounded: the least recently used versions are forgotten.
 */
export const DEFAULT_MAX_FILE_HASHES = 4096;

export class FileHashes {
  readonly maxEntries: number;
  /** Map order is recency order. */
  readonly #hashes = new Map<string, string>();

  constructor(maxEntries = DEFAULT_MAX_FILE_HASHES) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#hashes.size;
  }

  get(identity: string): string | undefined {
    const hash = this.#hashes.get(identity);
    if (hash === undefined) return undefined;
    this.#hashes.delete(identity);
    this.#hashes.set(identity, hash);
    return hash;
  }

  set(identity: string, hash: string): void {
    this.#hashes.delete(identity);
    this.#hashes.set(identity, hash);
    while (this.#hashes.size > this.maxEntries) this.#hashes.delete(this.#hashes.keys().next().value as string);
  }
}

let processHashes: FileHashes | undefined;

/** The cache every tool context of this process shares. */
export function processFileHashes(): FileHashes {
  processHashes ??= new FileHashes();
  return processHashes;
}
