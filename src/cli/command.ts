/**
 * A `squint` subcommand: its name, a one-line summary for `squint --help`, the full usage text for
 * `squint <name> --help`, and the function that runs it. Each subcommand lives in its own file under
 * `src/cli/commands/` and parses its own arguments (node:util parseArgs).
 */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** True when stdout is a terminal (colours, progress bars). */
  isTTY: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. Throw a SquintError for user mistakes; main prints it without a stack. */
  run(argv: string[], io: CliIO): Promise<number>;
}

/** One row of `squint models <sub>` (make-tiny, build, pull, list, rm). */
export interface ModelsSubcommand {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: CliIO): Promise<number>;
}
