import { realpath } from "node:fs/promises";
import { createRequire } from "node:module";
import { isAbsolute, relative, sep } from "node:path";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { isSquintError, SquintError } from "../errors.js";
import { type ToolContext, type ToolContextOptions, createToolContext } from "../tools/context.js";
import type { SourcePolicy } from "../tools/sources/policy.js";
import type { ImageStore } from "../tools/store/image-store.js";
import type { InlineLimits } from "./server-images.js";
import { answerInvalidParams } from "./request-params.js";
import { registerImageResources } from "./server-resources.js";
import { ClientRoots } from "./server-roots.js";
import { installTools, type McpTool, type ResultImages, toolFromDefinition } from "./server-tools.js";
import type { SquintTool } from "../tools/tool.js";

/**
 * The Squint MCP server: any list of ToolDefinitions over MCP, their images kept in an ImageStore and served
 * as squint://images/{id} resources. One McpServer per connection (the SDK allows one transport per server).
 * Given a store factory, each connection (HTTP session) gets its own store — a session sees only its own
 * images — while the factory's stores share one pixel memory and one work budget. Transports live in
 * stdio.ts and http.ts; the agent connects to the same factory in-process with its own store.
 */
export type { SquintTool };

export interface SquintServerOptions {
  tools: readonly SquintTool[];
  /** One store for every connection (the in-process agent), or a factory: a new store per connection. */
  store: ImageStore | (() => ImageStore);
  /**
   * What image arguments may name. Its `allowedDirs` are the configured ones (--allow). The client's roots
   * narrow them per call (only directories both allow are readable) unless `useClientRoots` is false; they
   * never widen them.
   */
  policy: SourcePolicy;
  useClientRoots?: boolean | undefined;
  /**
   * With no configured directory at all, let the client's roots alone decide (stdio: the client started the
   * server as its own user). Off by default: then a server without --allow reads no paths whatever the roots.
   */
  rootsGrantWithoutAllow?: boolean | undefined;
  /** Put result images inline (hosts outside the process); false for the in-process agent, which reads the store. */
  inlineImages?: boolean | undefined;
  inlineLimits?: InlineLimits | undefined;
  /** Largest single message this server sends (resource reads); keep under the client's limit (SDK stdio: 10 MiB). */
  maxMessageBytes?: number | undefined;
  /**
   * Longest one tool call may run, in ms (default 10 minutes; 0 for no limit). Past it the call fails with
   * TOOL_TIMEOUT and the tool's signal aborts.
   */
  toolTimeoutMs?: number | undefined;
  /** What relative image paths are relative to. */
  baseDir?: string | undefined;
  /** Model-backed parts of the tool context (grounding model, OCR, the conversation's images). */
  contextExtras?: Pick<ToolContextOptions, "locateModel" | "ocr" | "imageByIndex"> | undefined;
  /** Tools that are not ToolDefinitions (e.g. the conformance fixtures), listed after the others. */
  rawTools?: readonly McpTool[] | undefined;
  /** Last chance to register more on the McpServer before it connects (resources, prompts). */
  configure?: ((server: McpServer) => void) | undefined;
}

/** 8 MiB of payload stays under the SDK's default 10 MiB stdio line after base64 and JSON framing. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** Ten minutes: an ask_image run of a large model on a CPU fits; a tool stuck for good does not hold a slot forever. */
export const DEFAULT_TOOL_TIMEOUT_MS = 10 * 60 * 1000;
const MAX_LINKED_IDS = 1000;

const packageVersion = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

function resultImagesOf(store: ImageStore): ResultImages & { has(id: string): boolean } {
  return {
    has: (id) => store.has(id),
    pixels: (id) => store.pixels(id),
    work: store.work,
    describe: (id) => {
      const image = store.get(id);
      return { width: image.width, height: image.height, ...(image.label === undefined ? {} : { label: image.label }) };
    },
  };
}

function isInside(dir: string, candidate: string): boolean {
  const rel = relative(dir, candidate);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

async function realDir(dir: string): Promise<string | undefined> {
  try {
    return await realpath(dir);
  } catch {
    return undefined;
  }
}

/**
 * The directories a call may read: the configured ones, narrowed by the client's roots (a root inside an
 * allowed directory, or an allowed directory inside a root). Compared as real paths, so a root that is a
 * symlink inside an allowed directory cannot point the server elsewhere.
 */
export async function readableDirs(
  allowed: readonly string[],
  roots: readonly string[],
  grantWithoutAllow: boolean,
): Promise<string[]> {
  if (roots.length === 0) return [...allowed];
  const realRoots = (await Promise.all(roots.map(realDir))).filter((dir): dir is string => dir !== undefined);
  if (allowed.length === 0) return grantWithoutAllow ? realRoots : [];
  const realAllowed = (await Promise.all(allowed.map(realDir))).filter((dir): dir is string => dir !== undefined);
  const dirs = new Set<string>();
  for (const root of realRoots) {
    for (const dir of realAllowed) {
      if (isInside(dir, root)) dirs.add(root);
      else if (isInside(root, dir)) dirs.add(dir);
    }
  }
  return [...dirs];
}

/** An McpServer that answers malformed requests with -32602 and a short message (see request-params.ts). */
class SquintMcpServer extends McpServer {
  override async connect(transport: Transport): Promise<void> {
    await super.connect(transport);
    answerInvalidParams(transport);
  }
}

/**
 * With a store per connection, the only pins (in every connection's store: they share one pixel memory) are
 * the holds of calls in progress, so "the store is full of pinned images" is a passing state, not a request
 * too large: BUSY (retry later), like the work budget's queue. (A single store given by the caller, the
 * agent's, pins its conversation: there it stays OUT_OF_MEMORY_BUDGET.)
 */
function storeFullOfHeldImages(error: unknown): unknown {
  if (!isSquintError(error) || error.code !== "OUT_OF_MEMORY_BUDGET" || error.details?.reason !== "pinned") {
    return error;
  }
  return new SquintError("BUSY", "The image store is full of images that calls in progress are using.", {
    hint: "Retry when they finish, or raise the store's memory (--max-store-mb).",
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}

export function createSquintServer(options: SquintServerOptions): McpServer {
  const server = new SquintMcpServer(
    { name: "squint", title: "Squint image tools", version: packageVersion },
    {
      capabilities: { logging: {} },
      instructions:
        "Image tools for looking closely: zoom, crop, rotate, enhance, OCR and locate. Pass an image as a file path " +
        "(under the client's roots or the server's --allow directories), an http(s) URL, a data URI, or the id of an " +
        "image from an earlier result. Boxes in results are given in 0-1000 units of the tool's image and in pixels of the original." +
        (options.tools.some((tool) => tool.name === "ask_image")
          ? " ask_image hands a question and images to a vision-language model that uses these tools itself, then answers."
          : ""),
    },
  );
  const roots = options.useClientRoots === false ? undefined : new ClientRoots(server.server);
  const store = typeof options.store === "function" ? options.store() : options.store;
  if (typeof options.store === "function") {
    // This connection's own store: its pixels go back to the shared memory when the connection closes.
    const previous = server.server.onclose;
    server.server.onclose = () => {
      store.dispose();
      previous?.();
    };
  }
  const images = resultImagesOf(store);
  const linked = new Set<string>();
  const onImageLinked = (id: string) => {
    linked.delete(id);
    linked.add(id);
    if (linked.size > MAX_LINKED_IDS) linked.delete(linked.values().next().value as string);
  };

  // The images each call resolved, pinned until the call is over: a call waiting for the work budget must not
  // find its source evicted by the calls that ran meanwhile (the soak bench saw NOT_FOUND mid-call).
  const heldByCall = new WeakMap<ToolContext, string[]>();
  const context = async (): Promise<ToolContext> => {
    const rootDirs = roots ? await roots.directories() : [];
    const allowedDirs = await readableDirs(
      options.policy.allowedDirs,
      rootDirs,
      options.rootsGrantWithoutAllow ?? false,
    );
    const base = createToolContext({
      store,
      policy: { ...options.policy, allowedDirs },
      ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
      ...options.contextExtras,
    });
    const held: string[] = [];
    const callContext: ToolContext = {
      ...base,
      async resolveImage(reference, signal) {
        const image = await base.resolveImage(reference, signal);
        store.retain(image.id);
        held.push(image.id);
        return image;
      },
    };
    heldByCall.set(callContext, held);
    return callContext;
  };
  const endCall = (ended: ToolContext): void => {
    for (const id of heldByCall.get(ended) ?? []) store.release(id);
    heldByCall.delete(ended);
  };
  const toolTimeoutMs = options.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  if (!Number.isInteger(toolTimeoutMs) || toolTimeoutMs < 0 || toolTimeoutMs > 2 ** 31 - 1) {
    throw new SquintError("INVALID_ARGUMENT", `toolTimeoutMs must be a whole number of ms ≥ 0, got ${toolTimeoutMs}.`, {
      hint: "Give 0 for no limit, or a limit in milliseconds up to about 24 days.",
    });
  }
  const tools = options.tools.map((definition) =>
    toolFromDefinition(definition, {
      context,
      endCall,
      ...(typeof options.store === "function" ? { mapError: storeFullOfHeldImages } : {}),
      images,
      inlineImages: options.inlineImages ?? true,
      ...(options.inlineLimits ? { inlineLimits: options.inlineLimits } : {}),
      onImageLinked,
      ...(toolTimeoutMs === 0 ? {} : { timeoutMs: toolTimeoutMs }),
    }),
  );
  installTools(server.server, [...tools, ...(options.rawTools ?? [])]);
  registerImageResources(server, {
    images,
    linkedIds: () => linked,
    maxImageBytes: Math.floor(((options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) * 3) / 4),
  });
  options.configure?.(server);
  return server;
}
