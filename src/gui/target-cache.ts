import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { SquintError } from "../errors.js";

/**
 * The file-based cache of resolved targets: "the Save button" on this page was here, this element, looking
 * like this. An entry is only a claim; `gui` validates it against the screen before acting on it (the
 * selector still names an element with the same accessible name, or the pixels around the box still match)
 * and locates again when it does not. A cache file that cannot be read is started afresh, never trusted in
 * part and never a reason to fail a run (Midscene #923: a broken cache broke the next run).
 */

const boxSchema = z.object({ x1: z.number(), y1: z.number(), x2: z.number(), y2: z.number() });

const entrySchema = z.object({
  query: z.string(),
  page: z.string(),
  box: boxSchema,
  viewport: z.object({ width: z.number().positive(), height: z.number().positive() }),
  method: z.enum(["ocr", "model"]),
  element: z.object({ selector: z.string().min(1), name: z.string(), role: z.string(), tag: z.string() }).optional(),
  look: z.object({
    cols: z.number().int().positive(),
    rows: z.number().int().positive(),
    cells: z.array(z.number().int().min(0).max(255)),
  }),
  savedAt: z.string(),
  usedAt: z.string(),
  hits: z.number().int().min(0),
});

export type CacheEntry = z.infer<typeof entrySchema>;

const fileSchema = z.object({ version: z.literal(1), entries: z.array(z.unknown()) });

export type CacheMode = "read-write" | "read-only" | "write-only";

export interface TargetCacheOptions {
  path: string;
  /** read-write (default); read-only never writes the file; write-only never replays (re-records). */
  mode?: CacheMode;
  /** Least recently used entries beyond this are dropped (default 1000). */
  maxEntries?: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  stale: number;
  /** Entries in the file that were unreadable and dropped when it was loaded. */
  discarded: number;
  /** Why the file was started afresh, when it was. */
  loadProblem?: string;
}

export type CacheOutcome = "hit" | "miss" | "stale" | "off";

const DEFAULT_MAX_ENTRIES = 1000;

/** Case and spacing do not make a different target. */
export function cacheKey(query: string, page: string): string {
  return `${page}\u0000${query.trim().replace(/\s+/g, " ").toLowerCase()}`;
}

export class TargetCache {
  readonly path: string;
  readonly mode: CacheMode;
  readonly stats: CacheStats = { hits: 0, misses: 0, stale: 0, discarded: 0 };
  readonly #maxEntries: number;
  /** Map order is recency order. */
  readonly #entries = new Map<string, CacheEntry>();
  #writing: Promise<void> = Promise.resolve();

  private constructor(options: TargetCacheOptions) {
    this.path = options.path;
    this.mode = options.mode ?? "read-write";
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1) {
      throw new SquintError(
        "INVALID_ARGUMENT",
        `cache.maxEntries must be a positive integer; got ${this.#maxEntries}.`,
        {
          hint: "Leave it out for 1000, or give a whole number.",
        },
      );
    }
  }

  static async open(options: TargetCacheOptions): Promise<TargetCache> {
    const cache = new TargetCache(options);
    await cache.#load();
    return cache;
  }

  async #load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      this.stats.loadProblem = `could not read the file: ${(error as Error).message}`;
      return;
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch {
      this.stats.loadProblem = "the file is not a Squint target cache (version 1); it will be rewritten";
      return;
    }
    for (const raw of parsed.entries) {
      const entry = entrySchema.safeParse(raw);
      if (entry.success) this.#entries.set(cacheKey(entry.data.query, entry.data.page), entry.data);
      else this.stats.discarded++;
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry to validate, or undefined (counted as a miss by the caller). Write-only caches never replay. */
  lookup(query: string, page: string): CacheEntry | undefined {
    if (this.mode === "write-only") return undefined;
    return this.#entries.get(cacheKey(query, page));
  }

  async markHit(entry: CacheEntry): Promise<void> {
    this.stats.hits++;
    const key = cacheKey(entry.query, entry.page);
    const updated = { ...entry, hits: entry.hits + 1, usedAt: new Date().toISOString() };
    this.#entries.delete(key);
    this.#entries.set(key, updated);
  }

  /** Records a freshly located target; replaces what was there (a stale entry is rewritten, not emptied). */
  async store(entry: Omit<CacheEntry, "savedAt" | "usedAt" | "hits">): Promise<void> {
    if (this.mode === "read-only") return;
    const key = cacheKey(entry.query, entry.page);
    const now = new Date().toISOString();
    this.#entries.delete(key);
    this.#entries.set(key, { ...entry, savedAt: now, usedAt: now, hits: 0 });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    await this.flush();
  }

  /** Writes the file (whole, through a temporary file and a rename: a crash never leaves half a cache). */
  async flush(): Promise<void> {
    if (this.mode === "read-only") return;
    const body = `${JSON.stringify({ version: 1, entries: [...this.#entries.values()] }, null, 1)}\n`;
    const write = this.#writing.then(async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const temporary = `${this.path}.${process.pid}.tmp`;
      await writeFile(temporary, body);
      await rename(temporary, this.path);
    });
    this.#writing = write.catch(() => undefined);
    try {
      await write;
    } catch (error) {
      throw new SquintError("TOOL_FAILED", `Could not write the target cache ${this.path}.`, {
        hint: "Check that its folder is writable, or give gui() another cache path.",
        cause: error,
      });
    }
  }
}
