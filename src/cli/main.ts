import { formatError, isSquintError, SquintError } from "../errors.js";
import type { CliIO, Command } from "./command.js";
import { terminalSafe } from "./terminal-text.js";

/** Every subcommand, in the order `squint --help` lists them. Add new ones here. */
async function loadCommands(): Promise<Command[]> {
  // Lazy imports keep `squint --help` fast: each command loads its own area only when it runs.
  // One line per command: import("./commands/<name>.js").then((m) => m.<name>Command),
  const commands: Command[] = await Promise.all([
    import("./commands/inspect.js").then((m) => m.inspectCommand),
    import("./commands/mcp.js").then((m) => m.mcpCommand),
    import("./commands/prompt.js").then((m) => m.promptCommand),
    import("./commands/models.js").then((m) => m.modelsCommand),
    import("./commands/ask.js").then((m) => m.askCommand),
    import("./commands/eval.js").then((m) => m.evalCommand),
    import("./commands/serve.js").then((m) => m.serveCommand),
  ]);
  return commands;
}

function helpText(commands: Command[]): string {
  const width = Math.max(8, ...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return [
    "squint — let a vision-language model think with images",
    "",
    "Usage: squint <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `squint <command> --help` for a command's options.",
    "",
  ].join("\n");
}

export async function main(argv: string[], io?: Partial<CliIO>): Promise<number> {
  const fullIO: CliIO = {
    stdout: io?.stdout ?? process.stdout,
    stderr: io?.stderr ?? process.stderr,
    isTTY: io?.isTTY ?? Boolean(process.stdout.isTTY),
  };
  const commands = await loadCommands();
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    fullIO.stdout.write(helpText(commands));
    return name === undefined ? 1 : 0;
  }
  if (name === "--version" || name === "-v") {
    const { createRequire } = await import("node:module");
    const pkg = createRequire(import.meta.url)("../../package.json") as { version: string };
    fullIO.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    fullIO.stderr.write(`squint: unknown command "${name}"\n\n${helpText(commands)}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    fullIO.stdout.write(`${command.usage.trimEnd()}\n`);
    return 0;
  }
  try {
    return await command.run(rest, fullIO);
  } catch (error) {
    if (isSquintError(error)) {
      // A server's or model's error text may be in the message: no escape sequences reach the terminal.
      fullIO.stderr.write(`squint ${name}: ${terminalSafe(formatError(error))}\n`);
      return 1;
    }
    // Argument errors from node:util parseArgs are user mistakes too.
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      fullIO.stderr.write(`squint ${name}: ${error.message}\n\n${command.usage.trimEnd()}\n`);
      return 2;
    }
    const wrapped = new SquintError("INTERNAL", error instanceof Error ? error.message : String(error));
    fullIO.stderr.write(`squint ${name}: ${terminalSafe(formatError(wrapped))}\n`);
    if (process.env.SQUINT_DEBUG && error instanceof Error) fullIO.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

// Run directly (`node --import tsx src/cli/main.ts ...`, used by tests and `npm run squint`).
if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
