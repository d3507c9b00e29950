import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { SquintError } from "../errors.js";

/**
 * `squint mcp --http`: Streamable HTTP at /mcp, one McpServer per session (the SDK binds a server to one
 * transport). Plain node:http rather than the SDK's Express app, because that app caps JSON bodies at 100 kB
 * (a base64 image argument is megabytes) and checks Host but not Origin. In front of the transport, in order:
 * Host (DNS rebinding), Origin (browsers), bearer token, body size.
 */
export interface HttpOptions {
  /** A new server for each session. */
  createServer: () => McpServer;
  host?: string;
  /** 0 picks a free port (the listening URL tells which). */
  port?: number;
  /** Required for a non-loopback bind. */
  token?: string;
  maxBodyBytes?: number;
  /** Host header values accepted besides the loopback names (for a non-loopback bind, e.g. "myhost:8080"). */
  allowedHosts?: readonly string[];
  /** Origins (scheme://host[:port]) accepted besides loopback ones. */
  allowedOrigins?: readonly string[];
  /** Sessions open at once; a new one beyond it is refused (503), never made by closing a live one. */
  maxSessions?: number;
  /** Sessions one client (its address and bearer token together) may hold; beyond it 429. */
  maxSessionsPerClient?: number;
  /** A session with no request for this long is closed (milliseconds). */
  sessionIdleMs?: number;
}

export const DEFAULT_HTTP_HOST = "127.0.0.1";
export const DEFAULT_HTTP_PORT = 3917;
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_SESSIONS = 256;
export const DEFAULT_MAX_SESSIONS_PER_CLIENT = 64;
export const DEFAULT_SESSION_IDLE_MS = 10 * 60 * 1000;
const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

export interface HttpServerHandle {
  /** e.g. http://127.0.0.1:3917/mcp */
  url: string;
  server: Server;
  close(): Promise<void>;
}

function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The host name of a Host header value ("localhost:3917" -> "localhost", "[::1]:80" -> "[::1]"). */
function hostName(hostHeader: string): string {
  const bracket = /^(\[[^\]]+\])(:\d+)?$/.exec(hostHeader);
  if (bracket) return bracket[1].toLowerCase();
  const colon = hostHeader.lastIndexOf(":");
  return (colon === -1 ? hostHeader : hostHeader.slice(0, colon)).toLowerCase();
}

function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
) {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!match) return false;
  const given = Buffer.from(match[1].trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    req.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        req.removeAllListeners("data");
        req.resume(); // drain without keeping, so the 413 can be written
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function serveHttp(options: HttpOptions): Promise<HttpServerHandle> {
  const host = options.host ?? DEFAULT_HTTP_HOST;
  const loopbackBind = isLoopbackHost(host.replace(/^\[|\]$/g, ""));
  if (!loopbackBind && !options.token) {
    throw new SquintError("INVALID_ARGUMENT", `Refusing to serve on ${host} without a token.`, {
      hint: "Anyone who can reach that address could read your files through the tools: add --token (or SQUINT_MCP_TOKEN), or bind to 127.0.0.1.",
    });
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const maxPerClient = options.maxSessionsPerClient ?? DEFAULT_MAX_SESSIONS_PER_CLIENT;
  const idleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
  const allowedHosts = new Set((options.allowedHosts ?? []).map((value) => value.toLowerCase()));
  const allowedOrigins = new Set((options.allowedOrigins ?? []).map((value) => value.toLowerCase()));
  interface Session {
    transport: StreamableHTTPServerTransport;
    server: McpServer;
    client: string;
    lastActive: number;
    /** Requests being answered now (a long tool call keeps its session alive). */
    inFlight: number;
  }
  const sessions = new Map<string, Session>();
  /** Sessions being initialised or open, per client: counted before the session has an id. */
  const perClient = new Map<string, number>();
  let starting = 0;

  const countClient = (client: string, delta: number) => {
    const next = (perClient.get(client) ?? 0) + delta;
    if (next <= 0) perClient.delete(client);
    else perClient.set(client, next);
  };

  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [id, session] of sessions) {
        if (session.inFlight === 0 && now - session.lastActive > idleMs) void closeSession(id);
      }
    },
    Math.max(1000, Math.min(60_000, Math.floor(idleMs / 4))),
  );
  sweeper.unref();

  function hostAllowed(hostHeader: string | undefined): boolean {
    if (!hostHeader) return false;
    const lower = hostHeader.toLowerCase();
    if (allowedHosts.has(lower) || allowedHosts.has(hostName(lower))) return true;
    if (isLoopbackHost(hostName(lower))) return true;
    // A non-loopback bind is reached by names we cannot know; the token guards it instead.
    return !loopbackBind && allowedHosts.size === 0;
  }

  function originAllowed(origin: string | undefined): boolean {
    if (origin === undefined) return true; // not a browser: nothing to rebind
    if (allowedOrigins.has(origin.toLowerCase())) return true;
    try {
      const url = new URL(origin);
      return (url.protocol === "http:" || url.protocol === "https:") && isLoopbackHost(url.hostname);
    } catch {
      return false; // includes the opaque origin "null"
    }
  }

  async function closeSession(id: string): Promise<void> {
    const session = sessions.get(id);
    if (!session) return;
    sessions.delete(id);
    countClient(session.client, -1);
    await session.server.close().catch(() => undefined);
  }

  /** Who a request is from, for the per-client cap: its address and (a hash of) its bearer token. */
  function clientOf(req: IncomingMessage): string {
    const auth = req.headers.authorization ?? "";
    const token = auth === "" ? "" : createHash("sha256").update(auth).digest("hex").slice(0, 16);
    return `${req.socket.remoteAddress ?? "?"}|${token}`;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://placeholder").pathname;
    if (path !== "/mcp") {
      sendJsonRpcError(res, 404, -32000, "Not found: the MCP endpoint is /mcp.");
      return;
    }
    if (!hostAllowed(req.headers.host)) {
      sendJsonRpcError(
        res,
        403,
        -32000,
        `Forbidden: Host "${req.headers.host ?? ""}" is not allowed (DNS rebinding protection).`,
      );
      return;
    }
    const origin = req.headers.origin;
    if (!originAllowed(origin)) {
      sendJsonRpcError(res, 403, -32000, `Forbidden: Origin "${origin}" is not allowed.`);
      return;
    }
    if (options.token !== undefined && !tokenMatches(req.headers.authorization, options.token)) {
      const missing = req.headers.authorization === undefined;
      sendJsonRpcError(
        res,
        401,
        -32001,
        missing ? "Unauthorized: a bearer token is required." : "Unauthorized: invalid token.",
        {
          "www-authenticate": `Bearer error="invalid_token", error_description="${missing ? "Missing token" : "Invalid token"}"`,
        },
      );
      return;
    }

    let body: unknown;
    if (req.method === "POST") {
      try {
        const raw = await readBody(req, maxBodyBytes);
        body = JSON.parse(raw.toString("utf8"));
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          sendJsonRpcError(
            res,
            413,
            -32000,
            `Request body over ${maxBodyBytes} bytes; pass large images by path or URL, or raise --max-body-mb.`,
          );
        } else {
          sendJsonRpcError(res, 400, -32700, "Parse error: the body is not valid JSON.");
        }
        return;
      }
    }

    const sessionId = req.headers["mcp-session-id"];
    if (typeof sessionId === "string") {
      const session = sessions.get(sessionId);
      if (!session) {
        sendJsonRpcError(res, 404, -32001, "Session not found: initialize a new session.");
        return;
      }
      // A held-open GET (the standalone event stream) is not activity: it would keep a session forever.
      const counts = req.method !== "GET";
      if (counts) {
        session.lastActive = Date.now();
        session.inFlight++;
      }
      try {
        await session.transport.handleRequest(req, res, body);
      } finally {
        if (counts) {
          session.inFlight--;
          session.lastActive = Date.now();
        }
      }
      return;
    }
    if (req.method !== "POST" || !isInitializeRequest(body)) {
      sendJsonRpcError(res, 400, -32000, "Bad request: no Mcp-Session-Id; send an initialize request first.");
      return;
    }
    const client = clientOf(req);
    if (sessions.size + starting >= maxSessions) {
      sendJsonRpcError(
        res,
        503,
        -32000,
        `Server busy: ${maxSessions} sessions are open. Close sessions you no longer use (DELETE /mcp), or retry after idle ones expire.`,
        { "retry-after": String(Math.ceil(Math.min(idleMs, 60_000) / 1000)) },
      );
      return;
    }
    if ((perClient.get(client) ?? 0) >= maxPerClient) {
      sendJsonRpcError(
        res,
        429,
        -32000,
        `Too many sessions: this client already holds ${maxPerClient}. Reuse one, or close one with DELETE /mcp.`,
        { "retry-after": String(Math.ceil(Math.min(idleMs, 60_000) / 1000)) },
      );
      return;
    }
    countClient(client, 1);
    starting++;
    let registered = false;
    const server = options.createServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        registered = true;
        starting--;
        sessions.set(id, { transport, server, client, lastActive: Date.now(), inFlight: 0 });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined && sessions.has(transport.sessionId)) {
        sessions.delete(transport.sessionId);
        countClient(client, -1);
      }
    };
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } finally {
      if (!registered) {
        // The initialize failed: nothing was opened for this client after all.
        starting--;
        countClient(client, -1);
        await server.close().catch(() => undefined);
      }
    }
  }

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      sendJsonRpcError(res, 500, -32603, `Internal error: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new SquintError("ADDRESS_IN_USE", `Port ${options.port} on ${host} is already in use.`, {
              hint: "Pick another --port (0 picks a free one).",
            })
          : error,
      );
    });
    httpServer.listen(options.port ?? DEFAULT_HTTP_PORT, host, resolve);
  });
  const address = httpServer.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}/mcp`,
    server: httpServer,
    async close() {
      clearInterval(sweeper);
      await Promise.all([...sessions.keys()].map((id) => closeSession(id)));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
