import { type McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";
import { SquintError, toSquintError } from "../errors.js";
import { IMAGE_URI_PREFIX, imageUri, parseImageUri } from "../tools/sources/reference.js";
import { encodeFull, fullEncodeBytes } from "./server-images.js";
import { protocolError, type ResultImages } from "./server-tools.js";

/** JSON-RPC code the MCP spec gives "resource not found". */
const RESOURCE_NOT_FOUND = -32002;

export interface ImageResourceOptions {
  images: ResultImages & { has(id: string): boolean };
  /** Ids this session has been given links to, oldest first; resources/list shows those still held. */
  linkedIds(): Iterable<string>;
  /** Largest encoded image a read may return: the transport's message limit, less base64 and framing. */
  maxImageBytes: number;
}

/** Serves every stored image at squint://images/{id}, full resolution. */
export function registerImageResources(server: McpServer, options: ImageResourceOptions): void {
  const template = new ResourceTemplate(`${IMAGE_URI_PREFIX}{id}`, {
    list: async () => ({
      resources: [...options.linkedIds()]
        .filter((id) => options.images.has(id))
        .map((id) => {
          const info = options.images.describe(id);
          return {
            uri: imageUri(id),
            name: id,
            title: info.label ?? id,
            description: `${info.width}×${info.height} px`,
          };
        }),
    }),
  });
  server.registerResource(
    "image",
    template,
    {
      title: "Stored image",
      description: "An image held by the server (inputs and tool results), at full resolution.",
    },
    async (uri) => {
      const id = parseImageUri(uri.href);
      try {
        if (id === undefined || !options.images.has(id)) {
          throw new SquintError("NOT_FOUND", `No image at ${uri.href}.`, {
            hint: "Use a squint://images/<id> link from a tool result of this server.",
          });
        }
        const pixels = options.images.pixels(id);
        const encode = () => encodeFull(pixels, options.maxImageBytes);
        const encoded = options.images.work
          ? await options.images.work.run(fullEncodeBytes(pixels), `Encoding ${id} for a resource read`, encode)
          : await encode();
        return { contents: [{ uri: uri.href, mimeType: encoded.mimeType, blob: encoded.data.toString("base64") }] };
      } catch (error) {
        const squint = toSquintError(error);
        const code = squint.code === "NOT_FOUND" ? RESOURCE_NOT_FOUND : ErrorCode.InvalidParams;
        throw protocolError(code, squint);
      }
    },
  );
}
