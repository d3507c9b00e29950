import { ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { SquintError } from "../errors.js";
import type { ToolContext } from "../tools/context.js";
import type { ToolDefinition } from "../tools/tool.js";
import type { SquintTool, SquintServerOptions } from "./server.js";
import type { McpTool } from "./server-tools.js";

/**
 * The fixtures the official MCP conformance suite (@modelcontextprotocol/conformance, server mode) calls by
 * fixed names. Only `squint mcp` with SQUINT_MCP_CONFORMANCE=1 has them. Where a fixture matches something
 * Squint does (image results, progress, coded errors) it goes through the same path as the real tools (a
 * ToolDefinition); the rest (logging, embedded resources) are raw tools.
 */

// A 2×2 red PNG (made with sharp).
const RED_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAE0lEQVQImWP4z8DwnwGM/zMwAAAf7gP9qS/A4gAAAABJRU5ErkJggg==",
  "base64",
);

const empty = z.object({});
const done = z.object({ ok: z.boolean() });

const imageTool: ToolDefinition<typeof empty, typeof done, ToolContext> = {
  name: "test_image_content",
  title: "Conformance: image content",
  description: "Returns a small red PNG.",
  inputSchema: empty,
  outputSchema: done,
  async run(_input, context) {
    const image = await context.store.ingest(RED_PNG, { source: "conformance fixture", pin: false });
    return { structured: { ok: true }, images: [image.id], summary: "A red square." };
  },
};

const progressTool: ToolDefinition<typeof empty, typeof done, ToolContext> = {
  name: "test_tool_with_progress",
  title: "Conformance: progress",
  description: "Reports progress 0, 50 and 100 of 100.",
  inputSchema: empty,
  outputSchema: done,
  async run(_input, _context, options) {
    for (const progress of [0, 50, 100]) {
      options.onProgress?.({ progress, total: 100 });
      if (progress < 100) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { structured: { ok: true }, images: [], summary: "Progress reported." };
  },
};

const errorTool: ToolDefinition<typeof empty, typeof done, ToolContext> = {
  name: "test_error_handling",
  title: "Conformance: error",
  description: "Always fails.",
  inputSchema: empty,
  outputSchema: done,
  async run() {
    throw new SquintError("TOOL_FAILED", "This tool intentionally returns an error for testing", {
      hint: "Nothing to do: the conformance suite expects this error.",
    });
  },
};

function rawTool(name: string, call: McpTool["call"]): McpTool {
  return {
    listing: { name, description: `Conformance fixture ${name}.`, inputSchema: { type: "object", properties: {} } },
    call,
  };
}

const pngBase64 = RED_PNG.toString("base64");

const rawTools: McpTool[] = [
  rawTool("test_simple_text", async () => ({
    content: [{ type: "text", text: "This is a simple text response for testing." }],
  })),
  rawTool("test_embedded_resource", async () => ({
    content: [
      {
        type: "resource",
        resource: {
          uri: "test://embedded-resource",
          mimeType: "text/plain",
          text: "This is an embedded resource content.",
        },
      },
    ],
  })),
  rawTool("test_multiple_content_types", async () => ({
    content: [
      { type: "text", text: "Multiple content types test:" },
      { type: "image", data: pngBase64, mimeType: "image/png" },
      {
        type: "resource",
        resource: {
          uri: "test://mixed-content-resource",
          mimeType: "application/json",
          text: '{"test":"data","value":123}',
        },
      },
    ],
  })),
  rawTool("test_tool_with_logging", async (_args, extra) => {
    for (const [index, data] of [
      "Tool execution started",
      "Tool processing data",
      "Tool execution completed",
    ].entries()) {
      if (index > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      // Through the request's own stream: server.sendLoggingMessage goes to the standalone SSE stream, which a
      // stateless or not-yet-listening client never sees.
      await extra.sendNotification({ method: "notifications/message", params: { level: "info", data } });
    }
    return { content: [{ type: "text", text: "Logged three messages." }] };
  }),
];

export function conformanceFixtures(): Pick<SquintServerOptions, "rawTools" | "configure"> & {
  extraTools: SquintTool[];
} {
  return {
    extraTools: [imageTool, progressTool, errorTool] as SquintTool[],
    rawTools,
    configure(server) {
      server.registerResource("static-text", "test://static-text", { mimeType: "text/plain" }, async (uri) => ({
        contents: [{ uri: uri.href, mimeType: "text/plain", text: "This is the content of the static text resource." }],
      }));
      server.registerResource("static-binary", "test://static-binary", { mimeType: "image/png" }, async (uri) => ({
        contents: [{ uri: uri.href, mimeType: "image/png", blob: pngBase64 }],
      }));
      server.registerResource(
        "template",
        new ResourceTemplate("test://template/{id}/data", { list: undefined }),
        { mimeType: "application/json" },
        async (uri, variables) => ({
          contents: [
            {
              uri: uri.href,
              mimeType: "application/json",
              text: JSON.stringify({ id: variables.id, templateTest: true, data: `Data for ID: ${variables.id}` }),
            },
          ],
        }),
      );
    },
  };
}
