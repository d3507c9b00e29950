/**
 * Shared by bench/mcp/load.ts and bench/mcp/soak.ts: test images, `squint mcp` in its own process (so its RSS
 * and event loop are its own), its RSS read from /proc, and small statistics.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import sharp from "sharp";
import { SERVER_PROCESS_ENV, serverRelaunchEnv } from "../../src/cli/server-env.js";

export const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The environment the `squint` command gives its server (bin/squint.js restarts `squint mcp` with the
 * allocator settings; started from source here, the bench sets them itself), unless --plain-malloc.
 */
export function serverEnv(): Record<string, string> {
  const relaunched = serverRelaunchEnv(["mcp"], {}, process.platform);
  if (process.argv.includes("--plain-malloc") || relaunched === undefined) return {};
  return Object.fromEntries(Object.entries(SERVER_PROCESS_ENV).filter(([name]) => process.env[name] === undefined));
}

/**
 * The Node flags the `squint` command's restart adds (--expose-gc), unless --plain-malloc; and with
 * `--server-cpu-prof DIR`, V8's CPU profiler on the server and each of its threads (profiles written to DIR
 * when it stops; open them in Chrome's DevTools).
 */
export function serverNodeFlags(): string[] {
  const at = process.argv.indexOf("--server-cpu-prof");
  const profile = at === -1 ? [] : ["--cpu-prof", `--cpu-prof-dir=${process.argv[at + 1]}`];
  return [...(Object.keys(serverEnv()).length > 0 ? ["--expose-gc"] : []), ...profile];
}

/** `--name value` from argv, as a number, or the default. */
export function numberFlag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`--${name} takes a number of 0 or more`);
  return value;
}

/** A photo-like JPEG (smooth gradients and blocky noise, so it compresses like a photo) of the given size. */
export async function photo(file: string, width: number, height: number, format: "jpeg" | "png" = "jpeg") {
  const cell = 16;
  const noise = Buffer.alloc(Math.ceil(width / cell) * Math.ceil(height / cell) * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const base = sharp(noise, { raw: { width: Math.ceil(width / cell), height: Math.ceil(height / cell), channels: 3 } })
    .resize(width, height, { kernel: "cubic" })
    .blur(2);
  await writeFile(file, await (format === "jpeg" ? base.jpeg({ quality: 85 }) : base.png()).toBuffer());
  return file;
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** `squint mcp --http --port 0 ...args`, started from source; resolves with its URL once it listens. */
export function startHttpServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      ...serverNodeFlags(),
      "--import",
      "tsx",
      path.join(root, "src/cli/main.ts"),
      "mcp",
      "--http",
      "--port",
      "0",
      ...args,
    ],
    { cwd: root, stdio: ["ignore", "ignore", "pipe"], env: { ...serverEnv(), ...process.env, ...env } },
  );
  let stderr = "";
  return new Promise((resolve, reject) => {
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      // The server's opt-in memory lines (SQUINT_MCP_MEMORY_LOG_MS) go on to this process's stderr.
      for (const line of chunk.split("\n"))
        if (line.startsWith("squint mcp: memory")) process.stderr.write(`${line}\n`);
      if (stderr.length > 64 * 1024) return;
      stderr += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        resolve({
          child,
          url: match[1] as string,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    });
    child.once("exit", (code) => reject(new Error(`squint mcp exited with ${code}:\n${stderr}`)));
  });
}

/** Resident set size of a process in MiB (Linux /proc), or NaN where that is not available. */
export function rssMiB(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export type Outcome = { kind: "ok" } | { kind: "coded"; code: string } | { kind: "failed"; message: string };

/** One tools/call: ok, a typed tool error (its code), or a failure (transport, timeout, untyped error). */
export async function callOutcome(client: Client, name: string, args: Record<string, unknown>): Promise<Outcome> {
  try {
    const result = (await client.callTool({ name, arguments: args }, undefined, {
      timeout: 120_000,
    })) as CallToolResult;
    if (!result.isError) return { kind: "ok" };
    const code = (result._meta as Record<string, { code?: string }> | undefined)?.["squint/error"]?.code;
    return code ? { kind: "coded", code } : { kind: "failed", message: JSON.stringify(result.content).slice(0, 200) };
  } catch (error) {
    return { kind: "failed", message: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * CPU seconds of a process's threads (Linux /proc), summed by thread name and niceness (each thread on its own
 * with --per-thread), plus "all" (the whole process, threads that have exited included). Empty without /proc.
 */
export function threadCpu(pid: number | undefined): Map<string, number> {
  const byName = new Map<string, number>();
  const ticks = 100; // USER_HZ: 100 on every Linux this runs on.
  const fields = (stat: string) => stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  try {
    const all = fields(readFileSync(`/proc/${pid}/stat`, "utf8"));
    byName.set("all", (Number(all[11]) + Number(all[12])) / ticks);
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
        const f = fields(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
        const key = process.argv.includes("--per-thread")
          ? `${name} ${tid} (nice ${f[16]})`
          : `${name} (nice ${f[16]})`;
        byName.set(key, (byName.get(key) ?? 0) + (Number(f[11]) + Number(f[12])) / ticks);
      } catch {
        // The thread exited between the listing and the read.
      }
    }
  } catch {
    // No /proc.
  }
  return byName;
}

/** end − start, per key (threads that started during the window count from zero). */
export function cpuSince(start: Map<string, number>, end: Map<string, number>): Map<string, number> {
  return new Map([...end].map(([key, seconds]) => [key, seconds - (start.get(key) ?? 0)]));
}
