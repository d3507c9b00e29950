import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { SquintError } from "../../errors.js";
import type { McpServerConfig } from "./mcp-json.js";
import { LineStdioTransport } from "./stdio-transport.js";

/**
 * One connection to one MCP server, as the agent needs it: connect, and connect again when a stdio server
 * drops (a crashed or killed child process), so that one bad call does not end the run.
 */

/** Images travel as base64 over stdio; the SDK's 10 MiB line cap would drop the connection on a 7.5 MB image. */
export const STDIO_MAX_BUFFER_BYTES = 64 * 1024 * 1024;

const clientInfo = { name: "squint-agent", version: "0.1.0" };

/** Something an MCP server can connect to: the SDK's McpServer (or its low-level Server). */
export interface ConnectableServer {
  connect(transport: Transport): Promise<void>;
  close(): Promise<void>;
}

export interface McpConnection {
  readonly name: string;
  /** The connected client; after a drop, `client()` reconnects first. */
  client(): Promise<Client>;
  /** Whether the server is in this process (its images are store links, never base64). */
  readonly inProcess: boolean;
  /** How many times the connection was re-established after a drop. */
  readonly reconnects: number;
  close(): Promise<void>;
}

class ReconnectingConnection implements McpConnection {
  readonly name: string;
  readonly inProcess: boolean;
  reconnects = 0;
  #connect: () => Promise<Client>;
  #current: Promise<Client> | undefined;
  #closed = false;
  #canReconnect: boolean;

  constructor(name: string, inProcess: boolean, canReconnect: boolean, connect: () => Promise<Client>) {
    this.name = name;
    this.inProcess = inProcess;
    this.#canReconnect = canReconnect;
    this.#connect = connect;
  }

  async client(): Promise<Client> {
    if (this.#closed) {
      throw new SquintError("TOOL_FAILED", `The connection to MCP server "${this.name}" is closed.`, {
        hint: "Create a new agent (or call connect again) to use this server.",
      });
    }
    if (!this.#current) {
      const attempt = this.#connect().then((client) => {
        client.onclose = () => {
          // Only a drop we did not ask for: forget the client so the next call reconnects (stdio) or fails clearly.
          if (this.#closed) return;
          if (this.#current === attempt)
            this.#current = this.#canReconnect ? undefined : Promise.reject(dropped(this.name));
          this.#current?.catch(() => {});
          if (this.#canReconnect) this.reconnects++;
        };
        return client;
      });
      this.#current = attempt;
      attempt.catch(() => {
        if (this.#current === attempt) this.#current = undefined;
      });
    }
    return this.#current;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const current = this.#current;
    this.#current = undefined;
    if (current) await current.then((client) => client.close()).catch(() => {});
  }
}

function dropped(name: string): SquintError {
  return new SquintError("TOOL_FAILED", `MCP server "${name}" closed the connection.`, {
    hint: "Check that the server is still running; it may have crashed on the last call.",
  });
}

async function connectClient(name: string, transport: Transport): Promise<Client> {
  const client = new Client(clientInfo, { capabilities: {} });
  try {
    await client.connect(transport, { timeout: 20_000 });
  } catch (error) {
    await transport.close().catch(() => {});
    throw new SquintError("TOOL_FAILED", `Cannot connect to MCP server "${name}": ${(error as Error).message}`, {
      hint: "Check the server's command or URL in mcp.json, and that it starts on its own.",
      cause: error,
    });
  }
  return client;
}

/** Connects to a server object in this process over the SDK's in-memory transport (one server per client). */
export function connectInProcess(name: string, createServer: () => ConnectableServer): McpConnection {
  let server: ConnectableServer | undefined;
  const connection = new ReconnectingConnection(name, true, true, async () => {
    await server?.close().catch(() => {});
    server = createServer();
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    return connectClient(name, clientSide);
  });
  const close = connection.close.bind(connection);
  connection.close = async () => {
    await close();
    await server?.close().catch(() => {});
  };
  return connection;
}

/** Connects to a server listed in mcp.json: stdio servers are restarted when they drop; HTTP ones are re-dialled. */
export function connectConfigured(config: McpServerConfig): McpConnection {
  if (config.transport === "stdio") {
    return new ReconnectingConnection(config.name, false, true, () =>
      connectClient(
        config.name,
        new LineStdioTransport({
          command: config.command,
          args: config.args,
          env: { ...defaultEnvironment(), ...config.env },
          ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
          maxLineBytes: STDIO_MAX_BUFFER_BYTES,
        }),
      ),
    );
  }
  const url = new URL(config.url);
  const requestInit = { headers: config.headers };
  return new ReconnectingConnection(config.name, false, true, () =>
    connectClient(
      config.name,
      config.transport === "sse"
        ? new SSEClientTransport(url, { requestInit })
        : new StreamableHTTPClientTransport(url, { requestInit }),
    ),
  );
}

function defaultEnvironment(): Record<string, string> {
  // The SDK passes only a few variables to a child; keep that, plus PATH so `npx`/`node` resolve as in a shell.
  const keep = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "TMPDIR", "LANG"];
  const env: Record<string, string> = {};
  for (const key of keep) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}
