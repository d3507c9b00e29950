import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository root, for tests that spawn the CLI or read fixtures. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Where shared test data lives (../shared beside the checkout); absent on a plain clone elsewhere. */
export const sharedRoot = fileURLToPath(new URL("../../../shared/", import.meta.url));

/** The argv that runs the `squint` command from source (no build needed). */
export function squintArgv(args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ["--import", "tsx", `${repoRoot}src/cli/main.ts`, ...args] };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `squint ...args` from source in a child process and collects its output. */
export function runSquint(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliRun> {
  const argv = squintArgv(args);
  return new Promise((resolve, reject) => {
    const child = spawn(argv.command, argv.args, {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}
