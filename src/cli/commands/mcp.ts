import { statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import {
  DEFAULT_HTTP_HOST,
  DEFAULT_HTTP_PORT,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_CLIENT,
  DEFAULT_SESSION_IDLE_MS,
  serveHttp,
} from "../../mcp/http.js";
import { createSquintServer, type SquintServerOptions } from "../../mcp/server.js";
import type { SquintTool } from "../../tools/tool.js";
import { serveStdio } from "../../mcp/stdio.js";
import { startMemoryLog } from "../../mcp/memory-log.js";
import type { Backend } from "../../runtime/backend.js";
import type { LocateModel } from "../../tools/context.js";
import { builtinTools } from "../../tools/index.js";
import { closeDefaultOcrEngine, defaultOcrFunction } from "../../tools/ocr/ocr-tool.js";
import { DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_IMAGE_BYTES, defaultSourcePolicy } from "../../tools/sources/policy.js";
import { ImageStore } from "../../tools/store/image-store.js";
import { DEFAULT_IMAGE_LIMITS } from "../../tools/store/limits.js";
import { configureImageProcess } from "../../tools/store/image-process.js";
import { configureProcessResizePool, DEFAULT_RESIZE_POOL } from "../../tools/store/resize-pool.js";
import { SharedOriginals } from "../../tools/store/shared-originals.js";
import { uncountedMemory } from "../../tools/store/uncounted-memory.js";
import {
  configureProcessWorkBudget,
  DEFAULT_WORK_BUDGET,
  RESIZE_THREAD_RESERVE_BYTES,
} from "../../tools/store/work-budget.js";
import type { CliIO, Command } from "../command.js";
import {
  backendOptions,
  type ModelFlags,
  modelFlagOptions,
  modelFlagsUsage,
  outputTokenFlagOptions,
  outputTokenFlagUsage,
  readMaxOutputTokens,
  readModelFlags,
  stderrProgress,
  wantsModel,
} from "../model-flags.js";

/**
 * `squint mcp`: the image tools as an MCP server for IDE hosts — stdio by default, Streamable HTTP with --http.
 */

const MIB = 1024 * 1024;

const usage = `Usage: squint mcp [--http] [--port N] [--host H] [--allow DIR]... [--allow-private-urls] [--token T] [--max-body-mb N]
                 [--model ID|DIR | --base-url URL [--model-name NAME] [--api-key K] [--preset P]]

Serves Squint's image tools over MCP (stdio by default). Register it in an IDE with mcp.json:
  { "mcpServers": { "squint": { "command": "npx", "args": ["-y", "squint", "mcp", "--allow", "/path/to/images"] } } }

Image arguments may be a file path (only under the client's roots or an --allow directory, checked after
resolving symlinks), an http(s) URL (public hosts only), a data URI, base64, or the id of an image from an
earlier result (squint://images/<id>).

With a model (--model or --base-url), it also serves ask_image (images + question -> answer, the steps
taken and boxes in original pixels, with progress per step) and locate asks that model instead of using OCR.

Model (optional, one of):
${modelFlagsUsage}
${outputTokenFlagUsage}
                          (for ask_image and locate)

Options:
  --http                  serve Streamable HTTP at http://HOST:PORT/mcp instead of stdio
  --port N                HTTP port (default ${DEFAULT_HTTP_PORT}; 0 picks a free one)
  --host H                HTTP bind address (default ${DEFAULT_HTTP_HOST}; other addresses need --token)
  --token T               require "Authorization: Bearer T" over HTTP (default: $SQUINT_MCP_TOKEN)
  --max-body-mb N         largest HTTP request body (default ${DEFAULT_MAX_BODY_BYTES / MIB})
  --allowed-host H        also accept this Host header over HTTP (repeatable)
  --allowed-origin O      also accept this browser Origin over HTTP (repeatable)
  --allow DIR             let image paths name files under DIR (repeatable)
  --no-roots              ignore the client's roots (only --allow directories are readable)
  --allow-private-urls    let image URLs reach loopback, private and link-local addresses (unsafe)
  --allow-url-host H      trust this one URL host (name or IP) even if private (repeatable)
  --max-image-mb N        largest image file, download or inline image (default ${DEFAULT_MAX_IMAGE_BYTES / MIB})
  --fetch-timeout-s N     time limit for one image download (default ${DEFAULT_FETCH_TIMEOUT_MS / 1000})

Memory and load (every session together; see README "Limits"):
  --max-store-mb N        decoded pixels kept for reuse, all sessions together (default ${DEFAULT_IMAGE_LIMITS.maxStoreBytes / MIB});
                          least recently used unpinned images are dropped beyond it
  --max-work-mb N         pixels held by work in flight (decodes, zooms, OCR, ...) (default ${DEFAULT_WORK_BUDGET.maxBytes / MIB});
                          more work waits, then gets BUSY
  --max-queued N          calls that may wait for that memory (default ${DEFAULT_WORK_BUDGET.maxQueued}); one more gets BUSY at once
  --max-wait-s N          longest wait for that memory before BUSY (default ${DEFAULT_WORK_BUDGET.maxWaitMs / 1000})
  --max-large-jobs N      large pixel jobs (over ${DEFAULT_WORK_BUDGET.largeJobBytes / MIB} MB: full-photo zooms, big decodes) at once (default
                          ${DEFAULT_WORK_BUDGET.maxLargeJobs}, or $SQUINT_MAX_LARGE_JOBS); small ones keep their own lane and threads
  --resize-threads N      worker threads for small zoom resizes (default ${DEFAULT_RESIZE_POOL.smallThreads}); large ones get --max-large-jobs threads
  --max-sessions N        HTTP sessions open at once (default ${DEFAULT_MAX_SESSIONS}); more are refused with 503
  --max-sessions-per-client N
                          HTTP sessions per client address and token (default ${DEFAULT_MAX_SESSIONS_PER_CLIENT}); more get 429
  --session-idle-s N      close an HTTP session after this long without a request (default ${DEFAULT_SESSION_IDLE_MS / 1000})
`;

const positiveNumber = (flag: string) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, `${flag} takes a number`)
    .transform(Number)
    .pipe(z.number().positive(`${flag} must be greater than zero`));

const wholeNumber = (flag: string, min = 0) =>
  z
    .string()
    .regex(/^\d+$/, `${flag} takes a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${flag} must be at least ${min}`));

const argsSchema = z.object({
  http: z.boolean(),
  port: z
    .string()
    .regex(/^\d+$/, "--port takes a whole number")
    .transform(Number)
    .pipe(z.number().int().min(0).max(65535, "--port must be at most 65535"))
    .optional(),
  host: z.string().min(1).optional(),
  token: z.string().min(1, "--token must not be empty").optional(),
  maxBodyMb: positiveNumber("--max-body-mb").optional(),
  allowedHost: z.array(z.string().min(1)),
  allowedOrigin: z.array(z.string().min(1)),
  allow: z.array(z.string().min(1)),
  noRoots: z.boolean(),
  allowPrivateUrls: z.boolean(),
  allowUrlHost: z.array(z.string().min(1)),
  maxImageMb: positiveNumber("--max-image-mb").optional(),
  fetchTimeoutS: positiveNumber("--fetch-timeout-s").optional(),
  maxStoreMb: positiveNumber("--max-store-mb").optional(),
  maxWorkMb: positiveNumber("--max-work-mb").optional(),
  maxQueued: wholeNumber("--max-queued").optional(),
  maxWaitS: positiveNumber("--max-wait-s").optional(),
  resizeThreads: wholeNumber("--resize-threads", 1).optional(),
  maxLargeJobs: wholeNumber("--max-large-jobs", 1).optional(),
  vipsThreads: wholeNumber("SQUINT_VIPS_THREADS", 1).optional(),
  memoryLogMs: wholeNumber("SQUINT_MCP_MEMORY_LOG_MS", 1).optional(),
  maxSessions: wholeNumber("--max-sessions", 1).optional(),
  maxSessionsPerClient: wholeNumber("--max-sessions-per-client", 1).optional(),
  sessionIdleS: positiveNumber("--session-idle-s").optional(),
});

export type McpArgs = z.infer<typeof argsSchema> & ModelFlags & { maxOutputTokens?: number | undefined };

export function parseMcpArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): McpArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      http: { type: "boolean", default: false },
      port: { type: "string" },
      host: { type: "string" },
      token: { type: "string" },
      "max-body-mb": { type: "string" },
      "allowed-host": { type: "string", multiple: true, default: [] },
      "allowed-origin": { type: "string", multiple: true, default: [] },
      allow: { type: "string", multiple: true, default: [] },
      "no-roots": { type: "boolean", default: false },
      "allow-private-urls": { type: "boolean", default: false },
      "allow-url-host": { type: "string", multiple: true, default: [] },
      "max-image-mb": { type: "string" },
      "fetch-timeout-s": { type: "string" },
      "max-store-mb": { type: "string" },
      "max-work-mb": { type: "string" },
      "max-queued": { type: "string" },
      "max-wait-s": { type: "string" },
      "resize-threads": { type: "string" },
      "max-large-jobs": { type: "string" },
      "max-sessions": { type: "string" },
      "max-sessions-per-client": { type: "string" },
      "session-idle-s": { type: "string" },
      ...modelFlagOptions,
      ...outputTokenFlagOptions,
    },
  });
  if (positionals.length > 0) {
    throw new SquintError("INVALID_ARGUMENT", `Unexpected argument "${positionals[0]}".`, {
      hint: "squint mcp takes only options; see squint mcp --help.",
    });
  }
  const parsed = argsSchema.safeParse({
    http: values.http,
    port: values.port,
    host: values.host,
    token: values.token ?? (env.SQUINT_MCP_TOKEN || undefined),
    maxBodyMb: values["max-body-mb"],
    allowedHost: values["allowed-host"],
    allowedOrigin: values["allowed-origin"],
    allow: values.allow,
    noRoots: values["no-roots"],
    allowPrivateUrls: values["allow-private-urls"],
    allowUrlHost: values["allow-url-host"],
    maxImageMb: values["max-image-mb"],
    fetchTimeoutS: values["fetch-timeout-s"],
    maxStoreMb: values["max-store-mb"],
    maxWorkMb: values["max-work-mb"],
    maxQueued: values["max-queued"],
    maxWaitS: values["max-wait-s"],
    resizeThreads: values["resize-threads"],
    maxLargeJobs: values["max-large-jobs"] ?? (env.SQUINT_MAX_LARGE_JOBS || undefined),
    vipsThreads: env.SQUINT_VIPS_THREADS || undefined,
    memoryLogMs: env.SQUINT_MCP_MEMORY_LOG_MS || undefined,
    maxSessions: values["max-sessions"],
    maxSessionsPerClient: values["max-sessions-per-client"],
    sessionIdleS: values["session-idle-s"],
  });
  if (!parsed.success) {
    throw new SquintError("INVALID_ARGUMENT", parsed.error.issues.map((issue) => issue.message).join("; "), {
      hint: "See squint mcp --help for the options.",
    });
  }
  const args: McpArgs = { ...parsed.data, ...readModelFlags(values, env, "See squint mcp --help for the options.") };
  const maxOutputTokens = readMaxOutputTokens(values, "See squint mcp --help for the options.");
  if (maxOutputTokens !== undefined) args.maxOutputTokens = maxOutputTokens;
  if (args.maxOutputTokens !== undefined && !wantsModel(args)) {
    throw new SquintError("INVALID_ARGUMENT", "--max-output-tokens only applies with a model.", {
      hint: "Add --model or --base-url, or drop the option.",
    });
  }
  if (!args.http) {
    const httpOnly = [
      ["--port", args.port],
      ["--host", args.host],
      ["--max-body-mb", args.maxBodyMb],
      ["--token", values.token],
      ["--max-sessions", args.maxSessions],
      ["--max-sessions-per-client", args.maxSessionsPerClient],
      ["--session-idle-s", args.sessionIdleS],
    ].find(([, value]) => value !== undefined);
    if (httpOnly) {
      throw new SquintError("INVALID_ARGUMENT", `${httpOnly[0]} only applies to --http.`, {
        hint: "Add --http to serve over HTTP, or drop the option for stdio.",
      });
    }
  }
  return args;
}

function checkedDirectory(dir: string): string {
  const absolute = resolve(dir);
  let isDirectory = false;
  try {
    isDirectory = statSync(absolute).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) {
    throw new SquintError("INVALID_ARGUMENT", `--allow ${dir}: not a directory.`, {
      hint: "Give an existing directory whose images the tools may read.",
    });
  }
  return absolute;
}

/**
 * The part of the work budget held back for the resize threads (RESIZE_THREAD_RESERVE_BYTES each), at most
 * half of it, so a small --max-work-mb still runs work beside them.
 */
export function workReserveBytes(resizeThreads: number, maxWorkMb: number | undefined): number {
  const maxBytes = maxWorkMb === undefined ? DEFAULT_WORK_BUDGET.maxBytes : Math.floor(maxWorkMb * MIB);
  return Math.min(resizeThreads * RESIZE_THREAD_RESERVE_BYTES, Math.floor(maxBytes / 2));
}

/** The decoded pixels every session's store shares (--max-store-mb). */
export function storeMemory(args: McpArgs): SharedOriginals {
  return new SharedOriginals(Math.floor((args.maxStoreMb ?? DEFAULT_IMAGE_LIMITS.maxStoreBytes / MIB) * MIB));
}

/** The server options `squint mcp` runs with; exported so tests and the agent can build the same server. */
export function mcpServerOptions(
  args: McpArgs,
  tools: readonly SquintTool[] = builtinTools(),
  model: { locateModel?: LocateModel; originals?: SharedOriginals } = {},
): SquintServerOptions {
  const maxBytes = Math.floor((args.maxImageMb ?? DEFAULT_MAX_IMAGE_BYTES / MIB) * MIB);
  // One pixel memory for every session's store: sessions are isolated (ids), the process is bounded once, and
  // a file many sessions open is decoded and counted once.
  const originals = model.originals ?? storeMemory(args);
  return {
    tools,
    store: () => new ImageStore({ maxInputBytes: maxBytes, originals, ids: "random" }),
    // stdio: the client started this server as its user, so its roots may grant when no --allow is given.
    rootsGrantWithoutAllow: !args.http,
    policy: defaultSourcePolicy({
      allowedDirs: args.allow.map(checkedDirectory),
      allowPrivateUrls: args.allowPrivateUrls,
      trustedHosts: args.allowUrlHost,
      maxBytes,
      fetchTimeoutMs: Math.round((args.fetchTimeoutS ?? DEFAULT_FETCH_TIMEOUT_MS / 1000) * 1000),
    }),
    useClientRoots: !args.noRoots,
    // locate falls back to OCR for text targets when no model is configured; both share one OCR worker.
    contextExtras: {
      ocr: defaultOcrFunction(),
      ...(model.locateModel ? { locateModel: model.locateModel } : {}),
    },
  };
}

function untilSignal(): Promise<string> {
  return new Promise((resolveSignal) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolveSignal(signal));
  });
}

interface ServedModel {
  backend: Backend;
  tools: SquintTool[];
  locateModel: LocateModel;
  close(): Promise<void>;
}

/** The backend, ask_image over it, and locate's model function; loaded only when a model is configured. */
async function serveModel(args: McpArgs, io: CliIO): Promise<ServedModel> {
  const { createBackend } = await import("../../runtime/create-backend.js");
  // stdout may be the MCP channel: progress goes to stderr, one prefixed line per stage.
  const backend = await createBackend({ ...backendOptions(args), onProgress: stderrProgress(io, "squint mcp: ") });
  const { createAskImageTool } = await import("../../agent/ask-image-tool.js");
  const { backendLocateModel } = await import("../../agent/locate.js");
  const askImage = createAskImageTool({
    model: backend,
    ...(args.maxOutputTokens === undefined ? {} : { maxOutputTokens: args.maxOutputTokens }),
  });
  return {
    backend,
    tools: [askImage.tool],
    locateModel: backendLocateModel(backend, args.maxOutputTokens),
    async close() {
      await askImage.close();
      await backend.close();
    },
  };
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseMcpArgs(argv);
  // Before any store exists: every store and tool of this process shares these.
  configureImageProcess(args.vipsThreads === undefined ? {} : { vipsThreads: args.vipsThreads });
  const resizeThreads =
    (args.resizeThreads ?? DEFAULT_RESIZE_POOL.smallThreads) + (args.maxLargeJobs ?? DEFAULT_RESIZE_POOL.largeThreads);
  const work = configureProcessWorkBudget({
    // The resize threads' own memory comes out of the work budget, so RSS stays within store + work.
    reservedBytes: workReserveBytes(resizeThreads, args.maxWorkMb),
    ...(args.maxWorkMb === undefined ? {} : { maxBytes: Math.floor(args.maxWorkMb * MIB) }),
    ...(args.maxQueued === undefined ? {} : { maxQueued: args.maxQueued }),
    ...(args.maxWaitS === undefined ? {} : { maxWaitMs: Math.round(args.maxWaitS * 1000) }),
    ...(args.maxLargeJobs === undefined ? {} : { maxLargeJobs: args.maxLargeJobs }),
    // Under --expose-gc (the squint command starts the server so): dead decode buffers count until collected.
    collectGarbage: typeof globalThis.gc === "function" ? () => globalThis.gc?.() : undefined,
  });
  configureProcessResizePool({
    ...(args.resizeThreads === undefined ? {} : { smallThreads: args.resizeThreads }),
    ...(args.maxLargeJobs === undefined ? {} : { largeThreads: args.maxLargeJobs }),
  });
  const model = wantsModel(args) ? await serveModel(args, io) : undefined;
  const originals = storeMemory(args);
  // RSS over this idle process that no budget counts is given back by the store (uncounted-memory.ts).
  const uncounted = uncountedMemory({ memory: originals.memory, work });
  originals.memory.pressure = uncounted;
  const options = mcpServerOptions(args, [...builtinTools(), ...(model?.tools ?? [])], {
    originals,
    ...(model ? { locateModel: model.locateModel } : {}),
  });
  const stopMemoryLog =
    args.memoryLogMs === undefined
      ? () => undefined
      : startMemoryLog(args.memoryLogMs, (line) => io.stderr.write(line), { originals, work, uncounted });
  if (process.env.SQUINT_MCP_CONFORMANCE === "1") {
    // The official conformance suite calls fixed tool and resource names; they exist only when asked for.
    const { conformanceFixtures } = await import("../../mcp/server-conformance.js");
    const fixtures = conformanceFixtures();
    options.tools = [...options.tools, ...fixtures.extraTools];
    options.rawTools = fixtures.rawTools;
    options.configure = fixtures.configure;
  }
  if (!args.http) {
    const connection = await serveStdio(createSquintServer(options));
    await Promise.race([connection.closed, untilSignal()]);
    await connection.close();
    stopMemoryLog();
    await model?.close();
    await closeDefaultOcrEngine();
    return 0;
  }
  const handle = await serveHttp({
    createServer: () => createSquintServer(options),
    host: args.host ?? DEFAULT_HTTP_HOST,
    port: args.port ?? DEFAULT_HTTP_PORT,
    ...(args.token === undefined ? {} : { token: args.token }),
    maxBodyBytes: Math.floor((args.maxBodyMb ?? DEFAULT_MAX_BODY_BYTES / MIB) * MIB),
    allowedHosts: args.allowedHost,
    allowedOrigins: args.allowedOrigin,
    ...(args.maxSessions === undefined ? {} : { maxSessions: args.maxSessions }),
    ...(args.maxSessionsPerClient === undefined ? {} : { maxSessionsPerClient: args.maxSessionsPerClient }),
    ...(args.sessionIdleS === undefined ? {} : { sessionIdleMs: Math.round(args.sessionIdleS * 1000) }),
  });
  io.stderr.write(
    `squint mcp: listening on ${handle.url}${args.token === undefined ? "" : " (bearer token required)"}\n`,
  );
  await untilSignal();
  await handle.close();
  stopMemoryLog();
  await model?.close();
  await closeDefaultOcrEngine();
  return 0;
}

export const mcpCommand: Command = {
  name: "mcp",
  summary: "serve the image tools (and ask_image, with a model) over MCP (stdio, or Streamable HTTP with --http)",
  usage,
  run,
};
