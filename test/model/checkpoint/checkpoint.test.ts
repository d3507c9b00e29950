import { copyFileSync, mkdirSync, mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../../../src/model/checkpoint/checkpoint.js";
import { SafetensorsReader, writeSafetensors } from "../../../src/model/checkpoint/safetensors.js";
import { makeTinyCheckpoint } from "../../../src/model/checkpoint/tiny.js";

const root = mkdtempSync(join(tmpdir(), "squint-ckpt-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const current = join(root, "current");
const legacy = join(root, "legacy");

/** The older key layout some checkpoints keep: visual.* and model.layers.* (no language_model level). */
function legacyName(name: string): string {
  if (name.startsWith("model.visual.")) return name.slice("model.".length);
  if (name.startsWith("model.language_model.")) return `model.${name.slice("model.language_model.".length)}`;
  return name;
}

beforeAll(async () => {
  await makeTinyCheckpoint(current, { seed: 3, untied: true, arch: { text_config: { vocab_size: 128 } } });
  mkdirSync(legacy);
  copyFileSync(join(current, "config.json"), join(legacy, "config.json"));
  const reader = await SafetensorsReader.open(join(current, "model.safetensors"));
  const infos = [...reader.tensors.values()];
  const byLegacy = new Map(infos.map((info) => [legacyName(info.name), info.name]));
  await writeSafetensors(
    join(legacy, "model.safetensors"),
    infos.map((info) => ({ name: legacyName(info.name), dtype: info.dtype, shape: info.shape })),
    (tensor) => reader.readBytes(byLegacy.get(tensor.name)!),
  );
  await reader.close();
});

describe("Checkpoint", () => {
  it("reads a checkpoint in the legacy key layout under the current names", async () => {
    const a = await Checkpoint.open(current);
    const b = await Checkpoint.open(legacy);
    try {
      expect(b.has("visual.blocks.0.attn.qkv.weight")).toBe(true);
      for (const name of [
        "model.visual.blocks.0.attn.qkv.weight",
        "model.language_model.layers.1.self_attn.q_norm.weight",
        "model.language_model.embed_tokens.weight",
        "lm_head.weight",
      ]) {
        expect(b.has(name), name).toBe(true);
        expect(Array.from((await b.read(name)).data)).toEqual(Array.from((await a.read(name)).data));
      }
      const rows = b.rows("model.language_model.embed_tokens.weight", [128, 64]);
      expect(Array.from(await rows.read(5, 2))).toEqual(
        Array.from((await a.read("model.language_model.embed_tokens.weight")).data.subarray(5 * 64, 7 * 64)),
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("says what is missing: no config, no weights, a shard the index names but lacks", async () => {
    await expect(Checkpoint.open(join(root, "nowhere"))).rejects.toMatchObject({ code: "NOT_FOUND" });
    const noWeights = join(root, "no-weights");
    mkdirSync(noWeights);
    copyFileSync(join(current, "config.json"), join(noWeights, "config.json"));
    await expect(Checkpoint.open(noWeights)).rejects.toMatchObject({ code: "NOT_FOUND", hint: expect.any(String) });

    const sharded = join(root, "sharded");
    await makeTinyCheckpoint(sharded, { seed: 3, shards: 2, arch: { text_config: { vocab_size: 128 } } });
    unlinkSync(join(sharded, "model-00002-of-00002.safetensors"));
    await expect(Checkpoint.open(sharded)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
