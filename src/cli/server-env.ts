import { spawn } from "node:child_process";
import { constants } from "node:os";

/**
 * Settings glibc reads only when a process starts, for `squint mcp` (a long-running server). With its
 * defaults, malloc keeps freed memory in per-thread arenas and, once a large block was freed, serves blocks of
 * up to 32 MB from its heaps instead of returning them: the soak bench's RSS sat ~1.5× above the idle process
 * plus both budgets, ~1.2× with these. Nothing in the process can set them after it started, so the
 * command-line entry (bin/squint.js) starts the server once more with them, unless the user set them or
 * SQUINT_MCP_RELAUNCH=0.
 */
export const SERVER_PROCESS_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "131072",
});

/** The environment to restart `squint mcp` with, or undefined when the process can go on as it is. */
export function serverRelaunchEnv(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
): NodeJS.ProcessEnv | undefined {
  if (args[0] !== "mcp" || platform !== "linux" || env.SQUINT_MCP_RELAUNCH === "0") return undefined;
  const missing = Object.entries(SERVER_PROCESS_ENV).filter(([name]) => env[name] === undefined);
  if (missing.length === 0) return undefined;
  return { ...env, ...Object.fromEntries(missing), SQUINT_MCP_RELAUNCH: "0" };
}

/**
 * Runs this same command again in a child with `env`, stdio passed through (an MCP client talks to the child
 * directly), and resolves to its exit code. Termination signals sent to this process are passed on; a
 * terminal's Ctrl-C reaches both, so this process only waits for the child then.
 */
export function relaunch(env: NodeJS.ProcessEnv): Promise<number> {
  // --expose-gc lets the work budget ask for a collection when dead decode buffers are what work waits for.
  const child = spawn(process.execPath, [...process.execArgv, "--expose-gc", ...process.argv.slice(1)], {
    stdio: "inherit",
    env,
  });
  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const handlers = (["SIGTERM", "SIGHUP"] as const).map((signal) => [signal, forward(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  const ignoreInterrupt = () => undefined;
  process.on("SIGINT", ignoreInterrupt);
  return new Promise((resolve) => {
    child.once("error", () => resolve(1));
    child.once("exit", (code, signal) => {
      for (const [name, handler] of handlers) process.off(name, handler);
      process.off("SIGINT", ignoreInterrupt);
      resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  });
}
