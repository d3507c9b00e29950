import { SquintError, toSquintError } from "../errors.js";
import type { Backend } from "../runtime/backend.js";

/**
 * The server's model, loaded after the server is already listening: `/health` answers at once, `/ready`
 * says 503 until the backend is loaded and one short generation has run (the first generation pays for
 * graph initialisation and allocation; a load balancer should not send traffic before that), and 503 again
 * if loading failed. Without a model the slot is "none": OCR routes work, model routes say a model is needed.
 */

export type ModelStatus = "none" | "loading" | "warming" | "ready" | "failed";

export type BackendSource = Backend | (() => Promise<Backend>);

export class ModelSlot {
  #status: ModelStatus;
  #backend: Backend | undefined;
  #error: SquintError | undefined;
  readonly loaded: Promise<void>;
  /** A backend the slot loaded itself (from a function) is the slot's to close; a given one is the caller's. */
  readonly ownsBackend: boolean;
  readonly #servedName: string | undefined;

  constructor(
    source: BackendSource | undefined,
    options: { warmup?: boolean; log?: (line: string) => void; servedName?: string } = {},
  ) {
    this.#status = source === undefined ? "none" : "loading";
    this.ownsBackend = typeof source === "function";
    this.#servedName = options.servedName;
    this.loaded = source === undefined ? Promise.resolve() : this.#load(source, options.warmup ?? true, options.log);
  }

  async #load(source: BackendSource, warmup: boolean, log?: (line: string) => void): Promise<void> {
    try {
      const backend = typeof source === "function" ? await source() : source;
      this.#backend = backend;
      if (warmup) {
        this.#status = "warming";
        await warm(backend);
        log?.("model warmed up");
      }
      this.#status = "ready";
    } catch (error) {
      this.#error = toSquintError(error, "MODEL_LOAD_FAILED");
      this.#status = "failed";
      log?.(`model failed to load: ${this.#error.message}`);
    }
  }

  get status(): ModelStatus {
    return this.#status;
  }

  get error(): SquintError | undefined {
    return this.#error;
  }

  /** The id /v1/models lists and responses name: the one given, else the backend's name. */
  get name(): string {
    return this.#servedName ?? this.#backend?.info.name ?? "squint";
  }

  get configured(): boolean {
    return this.#status !== "none";
  }

  /** The backend when ready; NOT_READY (503) while loading or after a failed load, INVALID_ARGUMENT without one. */
  require(what: string): Backend {
    if (this.#status === "ready" && this.#backend) return this.#backend;
    if (this.#status === "none") {
      throw new SquintError("MODEL_REQUIRED", `${what} needs a model, and this server runs without one.`, {
        hint: "Start squint serve with --model ID|DIR (local engine) or --base-url URL (an OpenAI-compatible server).",
      });
    }
    if (this.#status === "failed") {
      throw new SquintError("NOT_READY", `The model failed to load: ${this.#error?.message ?? "unknown error"}.`, {
        hint: "Check the server's log and restart it; /ready says 503 until a model is loaded.",
      });
    }
    throw new SquintError("NOT_READY", `The model is still ${this.#status}.`, {
      hint: "Retry when GET /ready answers 200.",
      details: { retryAfterSeconds: 5 },
    });
  }

  /** The backend if one is loaded (ready or not): for closing. */
  get backend(): Backend | undefined {
    return this.#backend;
  }
}

/** One short generation: the first one initialises graphs and buffers. */
async function warm(backend: Backend): Promise<void> {
  for await (const event of backend.generate({
    messages: [{ role: "user", content: "Hi" }],
    maxOutputTokens: 1,
    sampling: { doSample: false },
    resolveImage: async () => {
      throw new SquintError("INTERNAL", "The warm-up request has no images.");
    },
  })) {
    void event;
  }
}
