import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Checkpoint } from "../checkpoint/checkpoint.js";
import { TEXT } from "../checkpoint/weight-names.js";
import { EMBEDDING_INPUTS, EMBEDDING_OUTPUTS, GRAPH_FILES, type GraphEntry } from "./contract.js";
import { attr, GraphBuilder } from "./graph-builder.js";
import { addStreamedFloatWeight, type WeightStorage } from "./linear.js";

/**
 * The token-embedding graph: input_ids → inputs_embeds. fp16 and int4 builds store the table in fp16 and
 * cast only the gathered rows, so the full table is never widened to float32.
 */
export async function buildEmbeddingGraph(
  ckpt: Checkpoint,
  outDir: string,
  storage: WeightStorage,
): Promise<GraphEntry> {
  const t = ckpt.config.text;
  const dataFile = `${GRAPH_FILES.embedding}.data`;
  const g = new GraphBuilder({
    name: "qwen3_vl_embedding",
    externalDataPath: join(outDir, dataFile),
    externalDataLocation: dataFile,
  });
  const ids = g.input(EMBEDDING_INPUTS.inputIds, "int64", ["B", "S"]);
  const table = ckpt.rows(`${TEXT}.embed_tokens.weight`, [t.vocabSize, t.hiddenSize]);
  let embeds: string;
  if (storage === "fp32") {
    const weight = await addStreamedFloatWeight(g, "embed_tokens.weight", table, "fp32");
    embeds = g.node("Gather", [weight, ids], { axis: attr.int(0) });
  } else {
    // Gather the fp16 rows, then cast only those.
    const half = await addStreamedFloatWeight(g, "embed_tokens.weight", table, "fp16", { castToFloat32: false });
    embeds = g.node("Cast", [g.node("Gather", [half, ids], { axis: attr.int(0) })], { to: attr.int(1) });
  }
  g.output(EMBEDDING_OUTPUTS.inputsEmbeds, "float32", ["B", "S", t.hiddenSize], embeds);
  await writeFile(join(outDir, GRAPH_FILES.embedding), g.finish({ squint_graph: "embedding" }));
  return {
    file: GRAPH_FILES.embedding,
    externalData: dataFile,
    inputs: [{ name: EMBEDDING_INPUTS.inputIds, dtype: "int64", shape: ["B", "S"] }],
    outputs: [{ name: EMBEDDING_OUTPUTS.inputsEmbeds, dtype: "float32", shape: ["B", "S", t.hiddenSize] }],
  };
}
