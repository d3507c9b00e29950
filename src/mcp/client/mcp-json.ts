import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { SquintError, zodError } from "../../errors.js";

/**
 * mcp.json in the shapes IDEs already use: `{"mcpServers": {...}}` (Claude Desktop/Code, Cursor, Windsurf, Cline)
 * and VS Code's `{"servers": {...}}`. An entry with `command` is a stdio server; one with `url` is Streamable HTTP
 * (or legacy SSE when `type` says "sse"). Strings may use `${VAR}`, `${env:VAR}` and `${VAR:-default}`.
 *
 * `tools` (alias `includeTools`) is a per-server allow-list: only those tools join the agent's tool list.
 */

const toolAllowList = z.array(z.string().min(1)).optional();

const stdioEntrySchema = z.object({
  type: z.literal("stdio").optional(),
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
  tools: toolAllowList,
  includeTools: toolAllowList,
  disabled: z.boolean().optional(),
});

const httpEntrySchema = z.object({
  type: z.enum(["http", "streamable-http", "streamableHttp", "sse"]).optional(),
  url: z.string().min(1),
  headers: z.record(z.string(), z.string()).default({}),
  tools: toolAllowList,
  includeTools: toolAllowList,
  disabled: z.boolean().optional(),
});

const entrySchema = z.union([stdioEntrySchema, httpEntrySchema]);

const fileSchema = z
  .object({
    mcpServers: z.record(z.string(), z.unknown()).optional(),
    servers: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

export interface StdioServerConfig {
  name: string;
  transport: "stdio";
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Undefined: every tool the server lists. */
  allowTools?: string[];
}

export interface HttpServerConfig {
  name: string;
  transport: "http" | "sse";
  url: string;
  headers: Record<string, string>;
  allowTools?: string[];
}

export type McpServerConfig = StdioServerConfig | HttpServerConfig;

export interface McpJsonOptions {
  /** Variables for `${VAR}` expansion; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** What `${workspaceFolder}` means; defaults to the folder that holds the file (or the cwd). */
  workspaceFolder?: string;
  /** For messages: where the JSON came from. */
  source?: string;
}

const placeholder = /\$\{([^}]*)\}/g;

/** Expands `${VAR}`, `${env:VAR}`, `${VAR:-default}` and `${workspaceFolder}` in one string. */
export function expandVariables(text: string, options: McpJsonOptions & { where: string }): string {
  const env = options.env ?? process.env;
  return text.replace(placeholder, (_whole, inner: string) => {
    if (inner === "workspaceFolder") return options.workspaceFolder ?? process.cwd();
    if (inner.startsWith("input:")) {
      throw new SquintError("INVALID_CONFIG", `${options.where} uses \${${inner}}, a VS Code prompt input.`, {
        hint: `Squint cannot prompt for inputs: replace \${${inner}} with \${env:NAME} and set that environment variable.`,
      });
    }
    const body = inner.startsWith("env:") ? inner.slice(4) : inner;
    const defaultAt = body.indexOf(":-");
    const name = defaultAt === -1 ? body : body.slice(0, defaultAt);
    const fallback = defaultAt === -1 ? undefined : body.slice(defaultAt + 2);
    const value = env[name];
    if (value !== undefined && value !== "") return value;
    if (fallback !== undefined) return fallback;
    throw new SquintError(
      "INVALID_CONFIG",
      `${options.where} needs the environment variable ${name}, which is not set.`,
      {
        hint: `Set ${name}, or write \${${name}:-default} in the file to give a default.`,
      },
    );
  });
}

function expandRecord(
  record: Record<string, string>,
  options: McpJsonOptions & { where: string },
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record))
    out[key] = expandVariables(value, { ...options, where: `${options.where}.${key}` });
  return out;
}

/** Parses the JSON text of an mcp.json into server configs (disabled entries are left out). */
export function parseMcpJson(value: unknown, options: McpJsonOptions = {}): McpServerConfig[] {
  const source = options.source ?? "mcp.json";
  const file = fileSchema.safeParse(value);
  if (!file.success) {
    throw zodError(file.error, `${source} is not an MCP server list`, {
      code: "INVALID_CONFIG",
      hint: 'Write {"mcpServers": {"name": {"command": "..."}}} or VS Code\'s {"servers": {...}}.',
    });
  }
  const entries = { ...(file.data.servers ?? {}), ...(file.data.mcpServers ?? {}) };
  if (file.data.mcpServers === undefined && file.data.servers === undefined) {
    throw new SquintError("INVALID_CONFIG", `${source} has neither "mcpServers" nor "servers".`, {
      hint: 'Put the servers under "mcpServers" (Claude, Cursor) or "servers" (VS Code).',
    });
  }
  const servers: McpServerConfig[] = [];
  for (const [name, raw] of Object.entries(entries)) {
    const where = `${source}: server "${name}"`;
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      throw zodError(parsed.error, `${where} is neither a stdio entry (command) nor an HTTP entry (url)`, {
        code: "INVALID_CONFIG",
        hint: 'Give it {"command": "...", "args": [...]} or {"type": "http", "url": "https://..."}.',
      });
    }
    const entry = parsed.data;
    if (entry.disabled) continue;
    const allow = entry.tools ?? entry.includeTools;
    const expandOptions = { ...options, where };
    if ("command" in entry) {
      servers.push({
        name,
        transport: "stdio",
        command: expandVariables(entry.command, expandOptions),
        args: entry.args.map((arg) => expandVariables(arg, expandOptions)),
        env: expandRecord(entry.env, { ...expandOptions, where: `${where} env` }),
        ...(entry.cwd === undefined ? {} : { cwd: expandVariables(entry.cwd, expandOptions) }),
        ...(allow === undefined ? {} : { allowTools: allow }),
      });
    } else {
      const url = expandVariables(entry.url, expandOptions);
      try {
        new URL(url);
      } catch {
        throw new SquintError("INVALID_CONFIG", `${where} has an invalid url "${url}".`, {
          hint: "Use an absolute http(s) URL such as http://127.0.0.1:3000/mcp.",
        });
      }
      servers.push({
        name,
        transport: entry.type === "sse" ? "sse" : "http",
        url,
        headers: expandRecord(entry.headers, { ...expandOptions, where: `${where} headers` }),
        ...(allow === undefined ? {} : { allowTools: allow }),
      });
    }
  }
  return servers;
}

/** Reads and parses an mcp.json file. */
export async function loadMcpJson(file: string, options: McpJsonOptions = {}): Promise<McpServerConfig[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new SquintError("NOT_FOUND", `Cannot read ${file}.`, { hint: "Check the path to mcp.json.", cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SquintError("INVALID_CONFIG", `${file} is not valid JSON: ${(error as Error).message}`, {
      hint: "Fix the JSON syntax (comments and trailing commas are not allowed).",
    });
  }
  const folder = path.dirname(path.resolve(file));
  const workspaceFolder = path.basename(folder) === ".vscode" ? path.dirname(folder) : folder;
  return parseMcpJson(json, { workspaceFolder, source: file, ...options });
}
