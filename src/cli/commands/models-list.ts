import { parseArgs } from "node:util";
import type { ModelsSubcommand } from "../command.js";
import { listModels } from "../../runtime/models/model-store.js";
import { squintHome } from "../../runtime/models/store-paths.js";

const usage = `Usage: squint models list [--json]

Lists the model store ($SQUINT_HOME, else $XDG_CACHE_HOME/squint, else ~/.cache/squint): each build (dtype)
and each downloaded checkpoint, with its size.
`;

export const modelsList: ModelsSubcommand = {
  name: "list",
  summary: "list pulled and built models",
  usage,
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { json: { type: "boolean", default: false } } });
    const models = await listModels();
    if (values.json) {
      io.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
      return 0;
    }
    if (models.length === 0) {
      io.stdout.write(`No models in ${squintHome()}. Get one with \`squint models pull\`.\n`);
      return 0;
    }
    const rows = models.map((model) => [
      model.id,
      model.dtype ?? "checkpoint",
      model.commit
        ? `${model.commit.slice(0, 12)}${model.revisions.length ? ` (${model.revisions.join(", ")})` : ""}`
        : "-",
      `${(model.bytes / 1e6).toFixed(1)} MB`,
    ]);
    const header = ["MODEL", "BUILD", "COMMIT", "SIZE"];
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    for (const row of [header, ...rows]) {
      io.stdout.write(
        `${row
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join("  ")
          .trimEnd()}\n`,
      );
    }
    return 0;
  },
};
