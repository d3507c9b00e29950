import { toSquintError } from "../errors.js";
import { connectConfigured, connectInProcess, type McpConnection } from "../mcp/client/connection.js";
import { loadMcpJson, type McpServerConfig } from "../mcp/client/mcp-json.js";
import { McpToolset } from "../mcp/client/toolset.js";
import { createSquintServer } from "../mcp/server.js";
import type { Backend } from "../runtime/backend.js";
import { builtinTools } from "../tools/index.js";
import { defaultOcrFunction } from "../tools/ocr/ocr-tool.js";
import { defaultSourcePolicy } from "../tools/sources/policy.js";
import type { ImageStore } from "../tools/store/image-store.js";
import type { SquintTool } from "../tools/tool.js";
import { backendLocateModel } from "./locate.js";

/**
 * The agent's tools, always through MCP: the built-in image tools on an in-process server sharing the agent's
 * image store, plus the servers of mcp.json. One toolset over all of them; if any connection fails, all close.
 */
export async function openAgentToolset(options: {
  tools: readonly SquintTool[] | undefined;
  mcp: string | McpServerConfig[] | undefined;
  backend: Backend;
  store: ImageStore;
}): Promise<McpToolset> {
  const { backend, store } = options;
  const builtin = options.tools ?? builtinTools();
  const connections: Array<{ connection: McpConnection; allowTools?: string[] }> = [];
  if (builtin.length > 0) {
    connections.push({
      connection: connectInProcess("squint", () =>
        createSquintServer({
          tools: builtin,
          store,
          policy: defaultSourcePolicy(),
          useClientRoots: false,
          inlineImages: false,
          // The locate tool asks the same model; OCR runs in the shared worker, started on first use.
          contextExtras: { locateModel: backendLocateModel(backend), ocr: defaultOcrFunction() },
        }),
      ),
    });
  }
  const configs = typeof options.mcp === "string" ? await loadMcpJson(options.mcp) : (options.mcp ?? []);
  for (const config of configs) {
    connections.push({
      connection: connectConfigured(config),
      ...(config.allowTools === undefined ? {} : { allowTools: config.allowTools }),
    });
  }
  try {
    return await McpToolset.open(connections, store);
  } catch (error) {
    await Promise.all(connections.map(({ connection }) => connection.close()));
    throw toSquintError(error, "TOOL_FAILED");
  }
}
