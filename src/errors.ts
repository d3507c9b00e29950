/**
 * Every error a user (or a model) can cause is a SquintError: a stable `code` that programs can switch on,
 * a message that says what went wrong, and a `hint` that says what to do about it. Transports (MCP, HTTP,
 * CLI) print `message` and `hint`, never a stack trace.
 */
export type SquintErrorCode =
  | "INVALID_ARGUMENT"
  | "INVALID_CONFIG"
  | "NOT_QWEN3_VL"
  | "NOT_FOUND"
  | "IMAGE_DECODE_FAILED"
  | "IMAGE_TOO_LARGE"
  | "IMAGE_UNSUPPORTED"
  | "IMAGE_TOO_SMALL"
  | "PATH_NOT_ALLOWED"
  | "URL_NOT_ALLOWED"
  | "DOWNLOAD_FAILED"
  | "TOKENIZER_FAILED"
  | "TEMPLATE_FAILED"
  | "TOOL_FAILED"
  | "TOOL_TIMEOUT"
  | "UNKNOWN_TOOL"
  | "BACKEND_FAILED"
  | "MODEL_LOAD_FAILED"
  | "OUT_OF_MEMORY_BUDGET"
  | "BUDGET_EXCEEDED"
  /** The server is at its work budget (queue full or waited too long): retry later. */
  | "BUSY"
  /** The request alone needs more than a configured limit allows: retrying cannot help. */
  | "RESOURCE_EXHAUSTED"
  | "ABORTED"
  /** A GUI action's check failed: the point was not on the located element, or the screen did not change. */
  | "ACTION_NOT_VERIFIED"
  /** `waitFor` gave up: the statement was still false when its time ran out. */
  | "WAIT_TIMEOUT"
  | "UNAUTHORIZED"
  /** A server's admission queue is full: retry after the time it gives (HTTP 429 + Retry-After). */
  | "QUEUE_FULL"
  /** A server's model is still loading or warming up, or failed to (HTTP 503). */
  | "NOT_READY"
  /** A request over a server's body, image-count or pixel limit, refused before any work (HTTP 413). */
  | "REQUEST_TOO_LARGE"
  /** A request ran past its time limit (HTTP 504). */
  | "TIMEOUT"
  | "INTERNAL";

export interface SquintErrorOptions {
  /** What the caller can do about it, in one sentence. */
  hint?: string;
  /** Machine-readable facts about the failure (never secrets, never base64 payloads). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

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

export function isSquintError(value: unknown): value is SquintError {
  return value instanceof SquintError;
}

/** Turns anything thrown into a SquintError, keeping a SquintError as it is. */
export function toSquintError(value: unknown, fallbackCode: SquintErrorCode = "INTERNAL"): SquintError {
  if (value instanceof SquintError) return value;
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
