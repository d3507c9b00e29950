import type { Readable, Writable } from "node:stream";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

/**
 * `squint mcp` over stdio: one server, one client, newline-delimited JSON-RPC on stdin/stdout.
 *
 * The SDK drops the connection on any incoming line over its 10 MiB default; a tool argument can carry a
 * base64 image, so the server reads lines up to 64 MiB. What the server *sends* is bounded separately (inline
 * images are small; resource reads stay under the server's maxMessageBytes), because the client's own limit
 * is usually the SDK's default.
 */
export const STDIO_MAX_INCOMING_BYTES = 64 * 1024 * 1024;

export interface StdioOptions {
  stdin?: Readable;
  stdout?: Writable;
  maxIncomingBytes?: number;
}

export interface StdioConnection {
  /** Resolves when the client goes away (stdin ends) or the transport fails. */
  closed: Promise<void>;
  close(): Promise<void>;
}

export async function serveStdio(server: McpServer, options: StdioOptions = {}): Promise<StdioConnection> {
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  if (stdout === process.stdout) {
    // stdout is the protocol channel: a stray console.log from any library would corrupt it.
    console.log = console.error;
    console.info = console.error;
    console.debug = console.error;
  }
  const transport = new StdioServerTransport(stdin, stdout, {
    maxBufferSize: options.maxIncomingBytes ?? STDIO_MAX_INCOMING_BYTES,
  });
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  transport.onclose = () => resolveClosed();
  // The SDK transport does not notice end of input; a host that exits closes our stdin, and we must go too.
  const onEnd = () => {
    server.close().finally(resolveClosed);
  };
  stdin.once("end", onEnd);
  stdin.once("close", onEnd);
  await server.connect(transport);
  return {
    closed,
    async close() {
      stdin.off("end", onEnd);
      stdin.off("close", onEnd);
      await server.close();
      resolveClosed();
    },
  };
}
