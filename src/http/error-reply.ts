import { z } from "zod";
import { SquintError, type SquintErrorCode, toSquintError } from "../errors.js";

/**
 * How a SquintError goes on the wire: an HTTP status chosen by its code, and a body of `{ error: { code,
 * message, hint } }`. The OpenAI-compatible routes add OpenAI's `type` and `param` to the same object, so an
 * OpenAI client reads `error.message`/`error.type` and a Squint client reads `error.code`/`error.hint`.
 * Never a stack trace: anything that is not a SquintError becomes INTERNAL with a generic message.
 */

const STATUS: Record<SquintErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  INVALID_CONFIG: 400,
  NOT_QWEN3_VL: 500,
  NOT_FOUND: 404,
  // The server runs without a model: not a bad request, and retrying does not help.
  MODEL_REQUIRED: 501,
  IMAGE_DECODE_FAILED: 400,
  IMAGE_TOO_LARGE: 413,
  IMAGE_UNSUPPORTED: 415,
  IMAGE_TOO_SMALL: 400,
  PATH_NOT_ALLOWED: 403,
  URL_NOT_ALLOWED: 403,
  DOWNLOAD_FAILED: 400,
  TOKENIZER_FAILED: 500,
  TEMPLATE_FAILED: 400,
  TOOL_FAILED: 500,
  TOOL_TIMEOUT: 504,
  UNKNOWN_TOOL: 400,
  BACKEND_FAILED: 502,
  MODEL_LOAD_FAILED: 503,
  OUT_OF_MEMORY_BUDGET: 503,
  BUDGET_EXCEEDED: 400,
  BUSY: 503,
  RESOURCE_EXHAUSTED: 413,
  ABORTED: 499,
  ACTION_NOT_VERIFIED: 422,
  WAIT_TIMEOUT: 504,
  UNAUTHORIZED: 401,
  QUEUE_FULL: 429,
  NOT_READY: 503,
  REQUEST_TOO_LARGE: 413,
  TIMEOUT: 504,
  ADDRESS_IN_USE: 500,
  INTERNAL: 500,
};

export function statusForCode(code: SquintErrorCode): number {
  return STATUS[code] ?? 500;
}

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe("A SquintError code (INVALID_ARGUMENT, QUEUE_FULL, NOT_READY, …)."),
      message: z.string(),
      hint: z.string().optional().describe("What to do about it."),
      type: z.string().optional().describe("OpenAI's error type (OpenAI-compatible routes)."),
      param: z.string().nullable().optional(),
    }),
  })
  .describe("Every error: { error: { code, message, hint } }.");

export type ErrorBody = z.infer<typeof errorBodySchema>;

/** What a thrown value becomes on the wire; internal failures keep their detail out of the body. */
export function publicError(value: unknown): SquintError {
  const error = toSquintError(value);
  if (error.code === "INTERNAL") {
    return new SquintError("INTERNAL", "The server failed on this request.", {
      hint: "Retry; if it keeps failing, report it with the X-Request-Id of the response.",
    });
  }
  return error;
}

function openAiType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

export function errorBody(error: SquintError, options: { openAi?: boolean; param?: string } = {}): ErrorBody {
  const status = statusForCode(error.code);
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      ...(options.openAi ? { type: openAiType(status), param: options.param ?? null } : {}),
    },
  };
}
