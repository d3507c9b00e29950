import { parseArgs } from "node:util";
import type { ModelsSubcommand } from "../command.js";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import { buildDtypeSchema } from "../../model/graph/contract.js";
import { removeModel } from "../../runtime/models/model-store.js";

const usage = `Usage: squint models rm <model> [--dtype fp32|fp16|int4|int8]

Removes a model from the store: for a Hub id its download, builds and revisions; with --dtype only that
build. <model> is an id as \`squint models list\` prints it.
`;

export const modelsRm: ModelsSubcommand = {
  name: "rm",
  summary: "remove a model (or one build of it) from the store",
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { dtype: { type: "string" } },
    });
    const parsed = z
      .object({
        model: z.string({ error: "rm needs a model id (see `squint models list`)" }).min(1),
        extra: z.array(z.string()).max(0, "rm takes one model id"),
        dtype: buildDtypeSchema.optional(),
      })
      .safeParse({ model: positionals[0], extra: positionals.slice(1), dtype: values.dtype });
    if (!parsed.success) {
      throw new SquintError("INVALID_ARGUMENT", parsed.error.issues.map((issue) => issue.message).join("; "), {
        hint: usage.split("\n")[0],
      });
    }
    const result = await removeModel(parsed.data.model, { dtype: parsed.data.dtype });
    for (const dir of result.removed) io.stdout.write(`removed ${dir}\n`);
    io.stdout.write(`freed ${(result.bytes / 1e6).toFixed(1)} MB\n`);
    return 0;
  },
};
