import type { z } from "zod";

/**
 * Every error a user (or a model) can cause is a SquintError: a stable `code` that programs can switch on,
 * a message that says what went wrong, and a `hint` that says what to do about it. Transports (MCP, HTTP,
 * CLI) print `message` and `hint`, never a stack trace.
 *
 * The codes, what each means and what to do about it. The README's "Errors" table is this list, row for row
 * (test/errors.test.ts keeps them equal); the HTTP status of each is in src/http/error-reply.ts.
 */
export const SQUINT_ERROR_CODES = {
  INVALID_ARGUMENT: {
    meaning: "An argument, option, flag or request field has a value Squint cannot use.",
    action: "Fix the value the message names; the hint says what is accepted.",
  },
  INVALID_CONFIG: {
    meaning: "A configuration file (config.json, preprocessor_config.json, mcp.json, a manifest) is malformed.",
    action: "Fix or replace the file the message names; re-download a checkpoint file that was changed.",
  },
  NOT_QWEN3_VL: {
    meaning: "The checkpoint or tokenizer is not a Qwen3-VL one.",
    action: "Point Squint at a Qwen3-VL checkpoint (Qwen/Qwen3-VL-*).",
  },
  NOT_FOUND: {
    meaning: "A file, directory, image id, model or resource does not exist.",
    action: "Check the name or path; list what exists (`squint models list`, the tool results' image ids).",
  },
  MODEL_REQUIRED: {
    meaning: "The operation needs a vision model and none is configured.",
    action: "Give one (`--model`, `--base-url`, `createAgent({ model })`, `gui(page, { model })`), or use OCR mode.",
  },
  IMAGE_DECODE_FAILED: {
    meaning: "The bytes are not a readable image (corrupt, truncated, or not an image).",
    action: "Send a valid PNG, JPEG, WebP, GIF, TIFF or AVIF file.",
  },
  IMAGE_TOO_LARGE: {
    meaning: "An image is over a byte or pixel limit.",
    action: "Send a smaller image, or crop/zoom first; the limit is in the message and configurable.",
  },
  IMAGE_UNSUPPORTED: {
    meaning: "The input is a format or kind Squint does not take here (PDF, BMP, video on a remote backend).",
    action: "Convert it (render the page to PNG, send frames as images) as the hint says.",
  },
  IMAGE_TOO_SMALL: {
    meaning: "An image side is under the model's minimum (one patch merge, 32 px for Qwen3-VL).",
    action: "Send a larger image or zoom in.",
  },
  PATH_NOT_ALLOWED: {
    meaning: "A path is outside the directories this server may read.",
    action: "Use a file under the client's roots or an `--allow` directory, or add the directory.",
  },
  URL_NOT_ALLOWED: {
    meaning: "A URL is refused: not http(s), or it points at a private, loopback or metadata address.",
    action: "Use a public http(s) URL, or allow private addresses where that is safe.",
  },
  DOWNLOAD_FAILED: {
    meaning: "A download (image URL, Hub file) failed, timed out or did not verify.",
    action: "Check the URL and the network and try again; a model pull resumes where it stopped.",
  },
  TOKENIZER_FAILED: {
    meaning: "The tokenizer files cannot be read or built.",
    action: "Use the tokenizer.json and tokenizer_config.json that ship with the checkpoint.",
  },
  TEMPLATE_FAILED: {
    meaning: "The chat template does not parse or fails to render this conversation.",
    action: "Use the checkpoint's own chat template, or fix the conversation the message points at.",
  },
  TOOL_FAILED: {
    meaning: "A tool failed while running (or too many tool calls in a row failed).",
    action: "Read the message; check the image and arguments and call again.",
  },
  TOOL_TIMEOUT: {
    meaning: "A tool ran past the server's time limit for one call.",
    action: "Ask for less (a smaller region or image), or raise the limit (`toolTimeoutMs`).",
  },
  UNKNOWN_TOOL: {
    meaning: "No tool of that name is served.",
    action: "List the tools (tools/list) and use one of their names.",
  },
  BACKEND_FAILED: {
    meaning:
      "The model backend failed: the server returned an error or a malformed stream, or the engine produced invalid logits.",
    action: "Check the server (base URL, model name, logs) or the checkpoint and its precision.",
  },
  MODEL_LOAD_FAILED: {
    meaning: "A model (checkpoint, ONNX graphs, OCR models) could not be loaded.",
    action: "Rebuild or re-download it (`squint models pull` / `build`); the message names the file.",
  },
  OUT_OF_MEMORY_BUDGET: {
    meaning: "A request needs more memory than a configured budget (KV cache, image store).",
    action: "Send less (fewer or smaller images, shorter output) or raise the budget the message names.",
  },
  BUDGET_EXCEEDED: {
    meaning: "An agent run used its step or wall-time budget before the model answered.",
    action: "Raise `stopWhen`/the time budget, or ask a narrower question.",
  },
  BUSY: {
    meaning: "The server is at its work budget: its queue is full, or the job waited too long to be admitted.",
    action: "Retry later; the work itself is fine.",
  },
  RESOURCE_EXHAUSTED: {
    meaning: "The request alone needs more than a configured work or memory limit allows.",
    action: "Send less (a smaller image or region); retrying the same request cannot help.",
  },
  ABORTED: {
    meaning: "The caller cancelled (abort signal, MCP cancel, closed connection).",
    action: "Nothing went wrong; run again if the result is still needed.",
  },
  ACTION_NOT_VERIFIED: {
    meaning: "A GUI action's check failed: the point was not on the located element, or the screen did not change.",
    action: "Describe the target more precisely, or wait for the page to settle and retry.",
  },
  WAIT_TIMEOUT: {
    meaning: "A GUI `waitFor` gave up: the statement was still false when its time ran out.",
    action: "Raise `timeoutMs`, or check that the statement can become true.",
  },
  UNAUTHORIZED: {
    meaning: "A server or the Hub refused the credentials (missing or wrong token or API key).",
    action: "Send the right token (`--token`, `apiKey`, `HF_TOKEN`).",
  },
  QUEUE_FULL: {
    meaning: "A server's admission queue is full.",
    action: "Retry after the time it gives (HTTP 429 with Retry-After).",
  },
  NOT_READY: {
    meaning: "A server's model is still loading or warming up, or failed to.",
    action: "Retry when /ready says so; read the server's log if it stays down.",
  },
  REQUEST_TOO_LARGE: {
    meaning: "A request is over a server's body, image-count or pixel limit; refused before any work.",
    action: "Send less per request, or raise the server's limit.",
  },
  TIMEOUT: {
    meaning: "A request waited or ran past its time limit.",
    action: "Retry later or with less work; raise the limit where you run the server.",
  },
  ADDRESS_IN_USE: {
    meaning: "The port a server was asked to listen on is taken.",
    action: "Pick another `--port` (0 picks a free one), or stop what holds it.",
  },
  INTERNAL: {
    meaning: "A bug in Squint (an invariant broke, or an unexpected failure from a library).",
    action: "Report it with the message and what you ran.",
  },
} as const satisfies Record<string, { meaning: string; action: string }>;

export type SquintErrorCode = keyof typeof SQUINT_ERROR_CODES;

export interface SquintErrorOptions {
  /** What the caller can do about it, in one sentence. */
  hint?: string;
  /** Machine-readable facts about the failure (never secrets, never base64 payloads). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * Marks a SquintError across copies of the package: two installed versions (or a bundled and an installed
 * one) each have their own class, so `instanceof` fails between them, but `Symbol.for` is one registry-wide
 * symbol.
 */
const squintErrorMarker = Symbol.for("squint.SquintError");

export class SquintError extends Error {
  readonly code: SquintErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: SquintErrorCode, message: string, options: SquintErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SquintError";
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
    Object.defineProperty(this, squintErrorMarker, { value: true });
  }

  /** The shape transports put on the wire. */
  toJSON(): { code: SquintErrorCode; message: string; hint?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** True for a SquintError from any copy of Squint (see `squintErrorMarker`). */
export function isSquintError(value: unknown): value is SquintError {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { [squintErrorMarker]?: unknown })[squintErrorMarker] === true &&
    typeof (value as { code?: unknown }).code === "string"
  );
}

/** Turns anything thrown into a SquintError, keeping a SquintError as it is. */
export function toSquintError(value: unknown, fallbackCode: SquintErrorCode = "INTERNAL"): SquintError {
  if (isSquintError(value)) return value;
  if (value instanceof Error && value.name === "AbortError") {
    return new SquintError("ABORTED", "The operation was aborted.", { cause: value });
  }
  const message = value instanceof Error ? value.message : String(value);
  return new SquintError(fallbackCode, message, { cause: value });
}

/**
 * A caller's value as it may appear inside a message: cut to `max` characters with the length said, so a
 * 4 MiB path or tool name is not echoed back as a 4 MiB error.
 */
export function clipForMessage(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** One line for a terminal or a tool result: message, then the hint. */
export function formatError(error: SquintError): string {
  return error.hint ? `${error.message} (${error.code}) — ${error.hint}` : `${error.message} (${error.code})`;
}

/** One line per zod issue, `path: message`, the path dotted (`(root)` when the value itself is wrong). */
export function describeZodIssues(error: z.ZodError, limit = 5): string {
  const lines = error.issues
    .slice(0, limit)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`);
  if (error.issues.length > limit) lines.push(`and ${error.issues.length - limit} more`);
  return lines.join("; ");
}

/**
 * The one conversion of a zod failure into a SquintError: "<what>: <issues>", the issues also in
 * `details.issues`. `code` is INVALID_ARGUMENT unless the value came from a file (INVALID_CONFIG) or
 * a peer (BACKEND_FAILED, …).
 */
export function zodError(
  error: z.ZodError,
  what: string,
  options: { code?: SquintErrorCode; hint?: string; details?: Record<string, unknown> } = {},
): SquintError {
  return new SquintError(options.code ?? "INVALID_ARGUMENT", `${what}: ${describeZodIssues(error)}`, {
    ...(options.hint === undefined ? {} : { hint: options.hint }),
    details: {
      ...options.details,
      issues: error.issues.slice(0, 20).map((issue) => ({ path: issue.path.map(String), message: issue.message })),
    },
    cause: error,
  });
}

/** `schema.parse(value)` that fails with `zodError(...)` instead of a bare ZodError. */
export function parseWith<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
  options: { code?: SquintErrorCode; hint?: string } = {},
): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw zodError(parsed.error, what, options);
  return parsed.data;
}
