import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { z } from "zod";
import { parseImageUri } from "../../tools/sources/reference.js";
import type { ImageStore } from "../../tools/store/image-store.js";
import { parseWith, SquintError } from "../../errors.js";

/**
 * Turns an MCP tool result into what the agent hands the model: text, plus images that are real entries of the
 * image store. A `squint://images/{id}` link (the built-in server, in process) is the stored image itself;
 * inline image content, embedded image resources and other resource links (read with resources/read) are
 * decoded into the store as new images.
 */

const contentSchema = z.array(
  z
    .object({
      type: z.string(),
      text: z.string().optional(),
      data: z.string().optional(),
      mimeType: z.string().optional(),
      uri: z.string().optional(),
      name: z.string().optional(),
      resource: z
        .object({
          uri: z.string(),
          mimeType: z.string().optional(),
          blob: z.string().optional(),
          text: z.string().optional(),
        })
        .loose()
        .optional(),
    })
    .loose(),
);

export const callToolResultSchema = z
  .object({
    content: contentSchema.default([]),
    structuredContent: z.record(z.string(), z.unknown()).optional(),
    isError: z.boolean().optional(),
  })
  .loose();

export interface ConvertedResult {
  text: string;
  /** Store ids, in the order the result listed them. */
  images: string[];
  structured?: Record<string, unknown>;
  isError: boolean;
}

const isImageMime = (mime: string | undefined) => mime?.startsWith("image/") ?? false;

export async function convertToolResult(
  raw: unknown,
  options: { store: ImageStore; client?: Client; server: string; tool: string; signal?: AbortSignal },
): Promise<ConvertedResult> {
  const result = parseWith(
    callToolResultSchema,
    raw,
    `${options.server}/${options.tool} returned a malformed tool result`,
    {
      code: "TOOL_FAILED",
    },
  );
  const source = `${options.server}/${options.tool}`;
  const texts: string[] = [];
  const linked: string[] = [];
  const decoded: Array<() => Promise<string>> = [];
  const ingest = (base64: string) =>
    options.store.ingest(Buffer.from(base64, "base64"), { source, pin: false }).then((info) => info.id);

  for (const block of result.content) {
    if (block.type === "text" && block.text !== undefined) {
      texts.push(block.text);
    } else if (block.type === "image" && block.data !== undefined) {
      decoded.push(() => ingest(block.data as string));
    } else if (block.type === "resource_link" && block.uri !== undefined) {
      const id = parseImageUri(block.uri);
      if (id !== undefined && options.store.has(id)) linked.push(id);
      else if (isImageMime(block.mimeType) && options.client) {
        const client = options.client;
        const uri = block.uri;
        decoded.push(() =>
          client.readResource({ uri }, options.signal ? { signal: options.signal } : undefined).then((read) => {
            const blob = read.contents.find((item) => "blob" in item && typeof item.blob === "string");
            if (!blob || !("blob" in blob) || typeof blob.blob !== "string") {
              throw new SquintError("TOOL_FAILED", `The resource ${uri} has no binary content.`, {
                hint: "The MCP server linked an image it does not serve as a blob.",
              });
            }
            return ingest(blob.blob);
          }),
        );
      } else texts.push(`[resource ${block.name ?? block.uri}]`);
    } else if (block.type === "resource" && block.resource) {
      const id = parseImageUri(block.resource.uri);
      if (id !== undefined && options.store.has(id)) linked.push(id);
      else if (block.resource.blob !== undefined && isImageMime(block.resource.mimeType)) {
        const blob = block.resource.blob;
        decoded.push(() => ingest(blob));
      } else if (block.resource.text !== undefined) texts.push(block.resource.text);
    }
  }
  // The built-in server links its images and inlines the same ones only for clients outside the process:
  // when links are present the inline copies are duplicates.
  const images = linked.length > 0 ? linked : await Promise.all(decoded.map((run) => run()));
  return {
    text: texts.join("\n"),
    images,
    ...(result.structuredContent === undefined ? {} : { structured: result.structuredContent }),
    isError: result.isError === true,
  };
}
