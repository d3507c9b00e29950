/** `squint/mcp`: the MCP server that exposes Squint's tools (stdio, Streamable HTTP) and the client the agent uses. */
export { connectConfigured, connectInProcess, type McpConnection } from "./client/connection.js";
export { loadMcpJson, type McpServerConfig, parseMcpJson } from "./client/mcp-json.js";
export { McpToolset } from "./client/toolset.js";
export { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, type HttpOptions, type HttpServerHandle, serveHttp } from "./http.js";
export { createSquintServer, type SquintTool, type SquintServerOptions } from "./server.js";
export { serveStdio, type StdioConnection, type StdioOptions } from "./stdio.js";
