import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  ClientRequestSchema,
  ErrorCode,
  isJSONRPCRequest,
  type JSONRPCMessage,
} from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import { clipForMessage, describeZodIssues } from "../errors.js";

/**
 * Checks each incoming request's params against the MCP schema of its method before the SDK sees it.
 *
 * The SDK parses a request inside its dispatcher and turns a failure into -32603 (internal error) whose
 * message is the whole zod issue list as JSON — `"arguments": [1, 2]` on tools/call came back that way. A
 * malformed request is the caller's error: JSON-RPC says -32602 (invalid params), with a short message.
 * Methods the SDK does not know pass through untouched (it answers them itself, -32601).
 */

const MAX_MESSAGE_CHARS = 300;

const schemaByMethod: ReadonlyMap<string, z.ZodType> = new Map(
  ClientRequestSchema.options.map((schema) => [schema.shape.method.value, schema as z.ZodType]),
);

/** The reply to a request whose params do not fit its method, or undefined when they do (or it is not a request). */
export function invalidParamsReply(message: JSONRPCMessage): JSONRPCMessage | undefined {
  if (!isJSONRPCRequest(message)) return undefined;
  const schema = schemaByMethod.get(message.method);
  if (!schema) return undefined;
  const parsed = schema.safeParse({ method: message.method, params: message.params });
  if (parsed.success) return undefined;
  const method = clipForMessage(message.method, 40);
  return {
    jsonrpc: "2.0",
    id: message.id,
    error: {
      code: ErrorCode.InvalidParams,
      message: clipForMessage(`Invalid params for ${method}: ${describeZodIssues(parsed.error, 3)}`, MAX_MESSAGE_CHARS),
    },
  };
}

/**
 * Wraps a connected transport's message handler so that malformed requests are answered here. Call after
 * `server.connect(transport)` (the SDK installs its handler there).
 */
export function answerInvalidParams(transport: Transport): void {
  const dispatch = transport.onmessage;
  if (!dispatch) return;
  transport.onmessage = (message, extra) => {
    const reply = invalidParamsReply(message);
    if (!reply) {
      dispatch(message, extra);
      return;
    }
    transport.send(reply).catch((error: unknown) => transport.onerror?.(error as Error));
  };
}
