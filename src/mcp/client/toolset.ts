import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { SquintError } from "../../errors.js";
import type { ImageStore } from "../../tools/store/image-store.js";
import type { McpConnection } from "./connection.js";
import { convertToolResult } from "./tool-results.js";

/**
 * The tools of several MCP servers as one list. The first server to list a name keeps it (the built-in server
 * comes first); a later server's tool with the same name is exposed as `server__tool`. A server's allow-list
 * keeps only the tools it names.
 *
 * A call's failures are told apart, because the model can act on some and not others:
 * - "tool-error": the server ran the tool and said it failed (`isError: true`, including argument validation);
 * - "timeout": no answer within the call's time limit (-32001 without an abort);
 * - "protocol-error": the connection or the JSON-RPC exchange failed (server crashed, bad result shape).
 * An abort by the caller is thrown as ABORTED, not reported as a failure.
 */

export interface ListedTool {
  /** The name the agent (and the model) uses. */
  name: string;
  /** The name on its server. */
  serverTool: string;
  server: string;
  description: string;
  inputSchema: Record<string, unknown>;
  inProcess: boolean;
}

export type ToolOutcome =
  | { ok: true; text: string; images: string[]; structured?: Record<string, unknown> }
  | { ok: false; failure: "tool-error" | "timeout" | "protocol-error"; text: string; images: string[] };

export interface ToolCallOptions {
  signal?: AbortSignal;
  timeoutMs: number;
}

const TIMEOUT = -32001;

export class McpToolset {
  readonly tools: ListedTool[];
  readonly #connections: Map<string, McpConnection>;
  readonly #store: ImageStore;

  private constructor(tools: ListedTool[], connections: McpConnection[], store: ImageStore) {
    this.tools = tools;
    this.#connections = new Map(connections.map((connection) => [connection.name, connection]));
    this.#store = store;
  }

  /** Connects every server and lists its tools. A server that fails to connect fails the whole set, loudly. */
  static async open(
    servers: Array<{ connection: McpConnection; allowTools?: string[] | undefined }>,
    store: ImageStore,
  ): Promise<McpToolset> {
    const listed = await Promise.all(
      servers.map(async ({ connection, allowTools }) => {
        const client = await connection.client();
        const tools: Awaited<ReturnType<Client["listTools"]>>["tools"] = [];
        let cursor: string | undefined;
        do {
          const page = await client.listTools(cursor === undefined ? {} : { cursor });
          tools.push(...page.tools);
          cursor = page.nextCursor;
        } while (cursor !== undefined);
        if (allowTools) {
          const missing = allowTools.filter((name) => !tools.some((tool) => tool.name === name));
          if (missing.length > 0) {
            throw new SquintError(
              "INVALID_CONFIG",
              `MCP server "${connection.name}" has no tool ${missing.join(", ")}.`,
              {
                hint: `Its tools are: ${tools.map((tool) => tool.name).join(", ") || "(none)"}. Fix the allow-list in mcp.json.`,
              },
            );
          }
        }
        return tools
          .filter((tool) => !allowTools || allowTools.includes(tool.name))
          .map((tool) => ({ tool, connection }));
      }),
    );
    const taken = new Set<string>();
    const tools: ListedTool[] = [];
    for (const { tool, connection } of listed.flat()) {
      const name = taken.has(tool.name) ? `${connection.name}__${tool.name}` : tool.name;
      taken.add(name);
      tools.push({
        name,
        serverTool: tool.name,
        server: connection.name,
        description: tool.description ?? tool.title ?? tool.name,
        inputSchema: tool.inputSchema as Record<string, unknown>,
        inProcess: connection.inProcess,
      });
    }
    return new McpToolset(
      tools,
      servers.map((server) => server.connection),
      store,
    );
  }

  find(name: string): ListedTool | undefined {
    return this.tools.find((tool) => tool.name === name);
  }

  async call(name: string, args: Record<string, unknown>, options: ToolCallOptions): Promise<ToolOutcome> {
    const tool = this.find(name);
    if (!tool) throw new SquintError("UNKNOWN_TOOL", `No tool named ${name}.`, { hint: "List the tools first." });
    const connection = this.#connections.get(tool.server) as McpConnection;
    try {
      const client = await connection.client();
      const raw = await client.callTool({ name: tool.serverTool, arguments: args }, undefined, {
        timeout: options.timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const converted = await convertToolResult(raw, {
        store: this.#store,
        client,
        server: tool.server,
        tool: tool.serverTool,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (converted.isError) {
        return {
          ok: false,
          failure: "tool-error",
          text: converted.text || "The tool failed.",
          images: converted.images,
        };
      }
      return {
        ok: true,
        text: converted.text,
        images: converted.images,
        ...(converted.structured === undefined ? {} : { structured: converted.structured }),
      };
    } catch (error) {
      if (options.signal?.aborted) throw new SquintError("ABORTED", `The call to ${name} was aborted.`);
      if (error instanceof McpError && error.code === TIMEOUT) {
        return {
          ok: false,
          failure: "timeout",
          text: `${name} did not answer within ${options.timeoutMs} ms.`,
          images: [],
        };
      }
      const message = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        failure: "protocol-error",
        text: `The MCP server "${tool.server}" failed while running ${name}: ${message}`,
        images: [],
      };
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#connections.values()].map((connection) => connection.close()));
  }
}
