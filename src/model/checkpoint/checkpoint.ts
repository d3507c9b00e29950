import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import { type ModelConfig, parseModelConfig } from "../config.js";
import { type Float32Tensor, SafetensorsReader, type TensorInfo } from "./safetensors.js";

/**
 * A Hugging Face checkpoint directory: config.json plus either model.safetensors or a sharded set named by
 * model.safetensors.index.json. Tensors are read one at a time, on demand.
 */

export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";

const indexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string()),
});

export class Checkpoint {
  readonly dir: string;
  readonly config: ModelConfig;
  readonly configSha256: string;
  private readonly readers: Map<string, SafetensorsReader>;
  private readonly location: Map<string, Located>;

  private constructor(
    dir: string,
    config: ModelConfig,
    configSha256: string,
    readers: Map<string, SafetensorsReader>,
    location: Map<string, Located>,
  ) {
    this.dir = dir;
    this.config = config;
    this.configSha256 = configSha256;
    this.readers = readers;
    this.location = location;
  }

  static async open(dir: string): Promise<Checkpoint> {
    const configPath = join(dir, "config.json");
    if (!existsSync(configPath)) {
      throw new SquintError("NOT_FOUND", `${dir} has no config.json`, {
        hint: "Point at a Hugging Face Qwen3-VL checkpoint directory (config.json + *.safetensors).",
      });
    }
    const configText = await readFile(configPath, "utf8");
    let configJson: unknown;
    try {
      configJson = JSON.parse(configText);
    } catch (error) {
      throw new SquintError("INVALID_CONFIG", `${configPath} is not valid JSON`, {
        hint: "Re-download the checkpoint's config.json.",
        cause: error,
      });
    }
    const config = parseModelConfig(configJson);
    const configSha256 = createHash("sha256").update(configText).digest("hex");
    const readers = new Map<string, SafetensorsReader>();
    const location = new Map<string, Located>();
    try {
      const indexPath = join(dir, INDEX_FILE);
      if (existsSync(indexPath)) {
        const parsed = indexSchema.safeParse(JSON.parse(await readFile(indexPath, "utf8")));
        if (!parsed.success) {
          throw new SquintError("INVALID_CONFIG", `${INDEX_FILE} has no valid weight_map`, {
            hint: "Re-download the checkpoint's index file.",
          });
        }
        for (const [name, file] of Object.entries(parsed.data.weight_map)) {
          if (basename(file) !== file) {
            throw new SquintError("INVALID_CONFIG", `${INDEX_FILE} names shard "${file}" outside the checkpoint`, {
              hint: "Shard names must be plain file names in the checkpoint directory.",
            });
          }
          let reader = readers.get(file);
          if (!reader) {
            reader = await SafetensorsReader.open(join(dir, file));
            readers.set(file, reader);
          }
          if (!reader.tensors.has(name)) {
            throw new SquintError("MODEL_LOAD_FAILED", `${INDEX_FILE} maps "${name}" to ${file}, which lacks it`, {
              hint: "The shards do not match the index; re-download the checkpoint.",
            });
          }
          location.set(name, { reader, stored: name });
        }
      } else if (existsSync(join(dir, SINGLE_FILE))) {
        const reader = await SafetensorsReader.open(join(dir, SINGLE_FILE));
        readers.set(SINGLE_FILE, reader);
        for (const name of reader.tensors.keys()) location.set(name, { reader, stored: name });
      } else {
        throw new SquintError("NOT_FOUND", `${dir} has neither ${SINGLE_FILE} nor ${INDEX_FILE}`, {
          hint: "Download the checkpoint's weights too, not only its config.",
        });
      }
    } catch (error) {
      for (const reader of readers.values()) await reader.close();
      throw error;
    }
    addLegacyAliases(location);
    return new Checkpoint(dir, config, configSha256, readers, location);
  }

  get tensorNames(): string[] {
    return [...this.location.keys()];
  }

  has(name: string): boolean {
    return this.location.has(name);
  }

  info(name: string): TensorInfo {
    const { reader, stored } = this.locate(name);
    return reader.info(stored);
  }

  /** Reads one tensor as float32 and checks its shape when `expectedShape` is given. */
  async read(name: string, expectedShape?: number[]): Promise<Float32Tensor> {
    const { reader, stored } = this.locate(name);
    const tensor = await reader.readFloat32(stored);
    if (expectedShape && !sameShape(tensor.shape, expectedShape)) {
      throw new SquintError(
        "MODEL_LOAD_FAILED",
        `tensor "${name}" has shape ${JSON.stringify(tensor.shape)}, config.json implies ${JSON.stringify(expectedShape)}`,
        { hint: "config.json and the weights disagree; use the config.json that came with these weights." },
      );
    }
    return tensor;
  }

  /**
   * A row-wise view of a 2-D (or higher) weight: its shape is checked now, rows are read on demand, so a
   * 151936-row embedding is converted in slices rather than widened to float32 whole.
   */
  rows(name: string, expectedShape: number[]): RowSource {
    const info = this.info(name);
    if (!sameShape(info.shape, expectedShape)) {
      throw new SquintError(
        "MODEL_LOAD_FAILED",
        `tensor "${name}" has shape ${JSON.stringify(info.shape)}, config.json implies ${JSON.stringify(expectedShape)}`,
        { hint: "config.json and the weights disagree; use the config.json that came with these weights." },
      );
    }
    const { reader, stored } = this.locate(name);
    const n = expectedShape[0]!;
    const k = expectedShape.slice(1).reduce((a, b) => a * b, 1);
    return { n, k, read: (start, count) => reader.readFloat32Rows(stored, start, count) };
  }

  async close(): Promise<void> {
    for (const reader of this.readers.values()) await reader.close();
  }

  private locate(name: string): Located {
    const located = this.location.get(name);
    if (!located) {
      throw new SquintError("NOT_FOUND", `tensor "${name}" is not in the checkpoint at ${this.dir}`, {
        hint: "The checkpoint is missing a weight Squint needs; is it a complete Qwen3-VL checkpoint?",
      });
    }
    return located;
  }
}

/** Where a tensor lives: its file and the name stored there (differs for legacy-layout aliases). */
interface Located {
  reader: SafetensorsReader;
  stored: string;
}

/** Rows of an [n, k] float weight, read on demand. */
export interface RowSource {
  n: number;
  k: number;
  read(start: number, count: number): Promise<Float32Array>;
}

/** A RowSource over an array already in memory (small weights, tests). */
export function rowsInMemory(data: Float32Array, n: number, k: number): RowSource {
  return { n, k, read: async (start, count) => data.subarray(start * k, (start + count) * k) };
}

/**
 * Some checkpoints keep the older key layout (`visual.*` and `model.layers.*` instead of `model.visual.*`
 * and `model.language_model.layers.*`); transformers maps them on load, and so do we, without overriding a
 * key the checkpoint has in the current layout.
 */
function addLegacyAliases(location: Map<string, Located>): void {
  for (const [name, located] of [...location]) {
    let canonical: string | undefined;
    if (name.startsWith("visual.")) canonical = `model.${name}`;
    else if (
      name.startsWith("model.") &&
      !name.startsWith("model.visual.") &&
      !name.startsWith("model.language_model.")
    ) {
      canonical = `model.language_model.${name.slice("model.".length)}`;
    }
    if (canonical && !location.has(canonical)) location.set(canonical, located);
  }
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
