import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseWith, SquintError } from "../../errors.js";
import {
  DEFAULT_PREPROCESSOR_CONFIG,
  type ModelConfig,
  type PreprocessorConfig,
  parseModelConfig,
  parsePreprocessorConfig,
} from "../../model/config.js";
import { MANIFEST_FILE, type Manifest, manifestSchema } from "../../model/graph/contract.js";
import { loadTokenizer, type QwenTokenizer } from "../../model/tokenizer.js";

/**
 * What the engine reads from a built model directory: the graphs' manifest, and the checkpoint files that
 * travel with them (config.json for the vision grid constants, the tokenizer, preprocessor_config.json).
 * The model store copies those files next to the graphs; a directory built by hand may name the checkpoint
 * they came from instead (`checkpointDir`).
 */
export interface ModelFiles {
  /** The directory holding manifest.json and the .onnx files. */
  dir: string;
  manifest: Manifest;
  config: ModelConfig;
  preprocessor: PreprocessorConfig;
  tokenizer: QwenTokenizer;
}

/** Files copied from a checkpoint into a built directory so that it runs on its own. */
export const CHECKPOINT_SIDE_FILES = [
  "config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "preprocessor_config.json",
  "generation_config.json",
  "chat_template.json",
  "chat_template.jinja",
  "vocab.json",
  "merges.txt",
] as const;

async function readJson(path: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SquintError("INVALID_CONFIG", `${path} is not valid JSON.`, {
      hint: "The file may be truncated; pull or build the model again.",
      cause: error,
    });
  }
}

export async function readManifest(dir: string): Promise<Manifest> {
  const json = await readJson(join(dir, MANIFEST_FILE));
  if (json === undefined) {
    throw new SquintError("NOT_FOUND", `${dir} has no ${MANIFEST_FILE}; it is not a built Squint model.`, {
      hint: "Build it with `squint models build <checkpoint> <out>`, or pass the checkpoint directory or a Hub id.",
    });
  }
  return parseWith(manifestSchema, json, `${join(dir, MANIFEST_FILE)} does not match this Squint version`, {
    code: "INVALID_CONFIG",
    hint: "Rebuild the model with `squint models build` from this version of Squint.",
  });
}

export async function loadModelFiles(dir: string, checkpointDir?: string): Promise<ModelFiles> {
  const manifest = await readManifest(dir);
  const sideDir = checkpointDir ?? dir;
  const configJson = await readJson(join(sideDir, "config.json"));
  if (configJson === undefined) {
    throw new SquintError("NOT_FOUND", `No config.json in ${sideDir}.`, {
      hint: "Copy config.json and the tokenizer files from the checkpoint next to the graphs, or pass the checkpoint directory as the model.",
    });
  }
  const config = parseModelConfig(configJson);
  const preprocessorJson = await readJson(join(sideDir, "preprocessor_config.json"));
  const preprocessor =
    preprocessorJson === undefined ? DEFAULT_PREPROCESSOR_CONFIG : parsePreprocessorConfig(preprocessorJson);
  const tokenizer = await loadTokenizer(sideDir);
  if (manifest.model.hiddenSize !== config.text.hiddenSize || manifest.model.numLayers !== config.text.numLayers) {
    throw new SquintError("INVALID_CONFIG", `The graphs in ${dir} were built from a different config.json.`, {
      hint: "Rebuild the graphs from this checkpoint, or point at the checkpoint they were built from.",
      details: { manifest: manifest.model, config: { hidden: config.text.hiddenSize, layers: config.text.numLayers } },
    });
  }
  return { dir, manifest, config, preprocessor, tokenizer };
}
