import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../../../src/model/checkpoint/checkpoint.js";
import { makeTinyCheckpoint } from "../../../src/model/checkpoint/tiny.js";
import type { ModelConfig } from "../../../src/model/config.js";
import { buildModel } from "../../../src/model/graph/build.js";
import {
  type BuildDtype,
  GRAPH_FILES,
  type GraphMutation,
  type Manifest,
  manifestSchema,
  pastKeyName,
  pastValueName,
} from "../../../src/model/graph/contract.js";
import { visionSegmentInputs } from "../../../src/model/graph/vision-inputs.js";
import { runSquint } from "../../support/cli.js";
import { noise } from "./run-graph.js";

/**
 * Builds the three graphs from a tiny random checkpoint and runs them on ORT's CPU EP: every graph loads
 * and runs for fp32, fp16 and int4; the outputs have the contract's shapes; the KV cache, causal and padding
 * masks and DeepStack injection behave; each test-only mutation changes what it should. Numerical parity
 * with a float64 reference is test/parity's job.
 */

const root = mkdtempSync(join(tmpdir(), "squint-build-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Feeds = Record<string, ort.Tensor>;

interface Built {
  manifest: Manifest;
  vision: ort.InferenceSession;
  embedding: ort.InferenceSession;
  decoder: ort.InferenceSession;
}

async function load(dir: string, manifest: Manifest): Promise<Built> {
  const open = (file: string) => ort.InferenceSession.create(join(dir, file), { executionProviders: ["cpu"] });
  return {
    manifest,
    vision: await open(manifest.graphs.vision.file),
    embedding: await open(manifest.graphs.embedding.file),
    decoder: await open(manifest.graphs.decoder.file),
  };
}

function floats(tensor: ort.Tensor | undefined): Float32Array {
  if (!tensor) throw new Error("missing output");
  return tensor.data as Float32Array;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function visionFeeds(config: ModelConfig, gh: number, gw: number, mutation?: GraphMutation): Feeds {
  const side = visionSegmentInputs(gh, gw, config.vision, mutation);
  const n = gh * gw;
  return {
    pixel_values: new ort.Tensor("float32", noise(n * 1536, 9), [n, 1536]),
    pos_embed_indices: new ort.Tensor("int64", side.posEmbedIndices, [n, 4]),
    pos_embed_weights: new ort.Tensor("float32", side.posEmbedWeights, [n, 4]),
    rotary_positions: new ort.Tensor("int64", side.rotaryPositions, [n, 2]),
  };
}

const int64 = (values: number[], dims: number[]) =>
  new ort.Tensor("int64", BigInt64Array.from(values.map(BigInt)), dims);

interface Step {
  embeds: ort.Tensor;
  mask: number[][];
  positions: number[][][]; // [3][B][S]
  deepstack?: Float32Array;
  past?: Feeds;
}

function decoderFeeds(m: Manifest, step: Step): Feeds {
  const [b, s] = step.embeds.dims as [number, number, number];
  const { numLayers, numKeyValueHeads, headDim, hiddenSize, deepstackLayers } = m.model;
  const feeds: Feeds = {
    inputs_embeds: step.embeds,
    attention_mask: int64(step.mask.flat(), [b, step.mask[0]!.length]),
    position_ids: int64(step.positions.flat(2), [3, b, s]),
    deepstack_embeds: new ort.Tensor(
      "float32",
      step.deepstack ?? new Float32Array(b * s * deepstackLayers * hiddenSize),
      [b, s, deepstackLayers * hiddenSize],
    ),
  };
  for (let i = 0; i < numLayers; i++) {
    const empty = new ort.Tensor("float32", new Float32Array(0), [b, numKeyValueHeads, 0, headDim]);
    feeds[pastKeyName(i)] = step.past?.[`present.${i}.key`] ?? empty;
    feeds[pastValueName(i)] = step.past?.[`present.${i}.value`] ?? empty;
  }
  return feeds;
}

async function embed(built: Built, ids: number[][]): Promise<ort.Tensor> {
  const out = await built.embedding.run({ input_ids: int64(ids.flat(), [ids.length, ids[0]!.length]) });
  return out.inputs_embeds!;
}

const textPositions = (start: number, count: number) => {
  const row = Array.from({ length: count }, (_, i) => start + i);
  return [[row], [row], [row]];
};

const tokens = [9707, 11, 1879, 151655, 151655, 3555, 30];

describe("squint models build (tiny checkpoint, ORT CPU)", () => {
  const ckptDir = join(root, "ckpt");
  const built: Partial<Record<BuildDtype, Built>> = {};
  let config: ModelConfig;

  beforeAll(async () => {
    config = (await makeTinyCheckpoint(ckptDir, { seed: 11 })).config;
    for (const dtype of ["fp32", "fp16", "int4"] as const) {
      const out = join(root, dtype);
      built[dtype] = await load(out, await buildModel(ckptDir, out, { dtype }));
    }
  });

  it("writes graphs with external weights and a manifest that matches the sessions", () => {
    for (const dtype of ["fp32", "fp16", "int4"] as const) {
      const b = built[dtype]!;
      const dir = join(root, dtype);
      const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")));
      expect(manifest).toEqual(b.manifest);
      expect(manifest.dtype).toBe(dtype);
      expect(manifest.mutation).toBeUndefined();
      for (const [key, session] of [
        ["vision", b.vision],
        ["embedding", b.embedding],
        ["decoder", b.decoder],
      ] as const) {
        const entry = manifest.graphs[key];
        expect(session.inputNames).toEqual(entry.inputs.map((t) => t.name));
        expect(session.outputNames.slice().sort()).toEqual(entry.outputs.map((t) => t.name).sort());
        // The graph file holds structure only; weights are in the external-data file.
        expect(statSync(join(dir, entry.file)).size).toBeLessThan(1_000_000);
        expect(existsSync(join(dir, entry.externalData!))).toBe(true);
      }
    }
    const fp32Data = statSync(join(root, "fp32", `${GRAPH_FILES.decoder}.data`)).size;
    const int4Data = statSync(join(root, "int4", `${GRAPH_FILES.decoder}.data`)).size;
    expect(int4Data).toBeLessThan(fp32Data / 4);
  });

  it("runs the vision encoder: image features and one DeepStack output per tap, M = N/4 tokens", async () => {
    const reference = await built.fp32!.vision.run(visionFeeds(config, 4, 6));
    const names = ["image_features", "deepstack_features_0", "deepstack_features_1", "deepstack_features_2"];
    for (const name of names) expect(reference[name]!.dims).toEqual([6, 64]);
    // Four distinct heads, not one output copied.
    expect(maxAbsDiff(floats(reference.deepstack_features_0), floats(reference.deepstack_features_1))).toBeGreaterThan(
      0.1,
    );
    for (const dtype of ["fp16", "int4"] as const) {
      const out = await built[dtype]!.vision.run(visionFeeds(config, 4, 6));
      // Vision weights are fp16 in both; the bf16 checkpoint values fit fp16 almost exactly.
      for (const name of names) expect(maxAbsDiff(floats(out[name]), floats(reference[name]))).toBeLessThan(1e-2);
    }
  });

  it("embeds token ids as the checkpoint's rows (exactly in fp32, within fp16 rounding otherwise)", async () => {
    const ckpt = await Checkpoint.open(ckptDir);
    const table = (await ckpt.read("model.language_model.embed_tokens.weight")).data;
    await ckpt.close();
    for (const dtype of ["fp32", "fp16", "int4"] as const) {
      const out = floats(await embed(built[dtype]!, [[151655, 7]]));
      const expected = Float32Array.from([
        ...table.subarray(151655 * 64, 151656 * 64),
        ...table.subarray(7 * 64, 8 * 64),
      ]);
      expect(maxAbsDiff(out, expected)).toBeLessThanOrEqual(dtype === "fp32" ? 0 : 1e-3);
    }
  });

  it("prefills with logits [B, S, V] and presents [B, kvh, S, hd]; fp16 and int4 track fp32", async () => {
    const logits: Partial<Record<BuildDtype, Float32Array>> = {};
    for (const dtype of ["fp32", "fp16", "int4"] as const) {
      const b = built[dtype]!;
      const out = await b.decoder.run(
        decoderFeeds(b.manifest, {
          embeds: await embed(b, [tokens]),
          mask: [tokens.map(() => 1)],
          positions: textPositions(0, 7),
        }),
      );
      expect(out.logits!.dims).toEqual([1, 7, 151936]);
      expect(out["present.3.value"]!.dims).toEqual([1, 2, 7, 32]);
      logits[dtype] = floats(out.logits);
      expect(logits[dtype]!.every(Number.isFinite)).toBe(true);
    }
    expect(maxAbsDiff(logits.fp16!, logits.fp32!)).toBeLessThan(0.05);
    // int4 is lossy; it must still be close to fp32, and in particular not garbage.
    let spread = 0;
    for (const v of logits.fp32!) spread = Math.max(spread, Math.abs(v));
    expect(maxAbsDiff(logits.int4!, logits.fp32!)).toBeLessThan(spread / 2);
    expect(maxAbsDiff(logits.int4!, logits.fp32!)).toBeGreaterThan(0);
  });

  it("decodes with the KV cache exactly as a longer prefill does", async () => {
    const b = built.fp32!;
    const full = await b.decoder.run(
      decoderFeeds(b.manifest, {
        embeds: await embed(b, [tokens]),
        mask: [tokens.map(() => 1)],
        positions: textPositions(0, 7),
      }),
    );
    let past = await b.decoder.run(
      decoderFeeds(b.manifest, {
        embeds: await embed(b, [tokens.slice(0, 5)]),
        mask: [[1, 1, 1, 1, 1]],
        positions: textPositions(0, 5),
      }),
    );
    for (let step = 5; step < 7; step++) {
      past = await b.decoder.run(
        decoderFeeds(b.manifest, {
          embeds: await embed(b, [[tokens[step]!]]),
          mask: [Array(step + 1).fill(1)],
          positions: textPositions(step, 1),
          past,
        }),
      );
      const expected = floats(full.logits).subarray(step * 151936, (step + 1) * 151936);
      expect(maxAbsDiff(floats(past.logits), expected)).toBeLessThan(1e-4);
    }
    expect(maxAbsDiff(floats(past["present.2.key"]), floats(full["present.2.key"]))).toBeLessThan(1e-5);
  });

  it("is causal, and a left-padded batch row matches the unpadded sequence", async () => {
    const b = built.fp32!;
    const run = async (ids: number[][], mask: number[][], positions: number[][][]) =>
      floats((await b.decoder.run(decoderFeeds(b.manifest, { embeds: await embed(b, ids), mask, positions }))).logits);
    const a = await run([tokens], [tokens.map(() => 1)], textPositions(0, 7));
    const changed = await run([[...tokens.slice(0, 6), 42]], [tokens.map(() => 1)], textPositions(0, 7));
    expect(maxAbsDiff(a.subarray(0, 6 * 151936), changed.subarray(0, 6 * 151936))).toBe(0);
    expect(maxAbsDiff(a.subarray(6 * 151936), changed.subarray(6 * 151936))).toBeGreaterThan(0.01);

    // Row 1 is tokens[0..5) left-padded by 2; masked positions carry 1 as transformers fills them.
    const padded = [0, 0, ...tokens.slice(0, 5)];
    const row1 = [1, 1, 0, 1, 2, 3, 4];
    const batch = await run(
      [tokens, padded],
      [tokens.map(() => 1), [0, 0, 1, 1, 1, 1, 1]],
      [
        [textPositions(0, 7)[0]![0]!, row1],
        [textPositions(0, 7)[0]![0]!, row1],
        [textPositions(0, 7)[0]![0]!, row1],
      ],
    );
    const alone = await run([tokens.slice(0, 5)], [[1, 1, 1, 1, 1]], textPositions(0, 5));
    expect(maxAbsDiff(batch.subarray(0, 7 * 151936), a)).toBeLessThan(1e-4);
    expect(maxAbsDiff(batch.subarray((7 + 2) * 151936), alone)).toBeLessThan(1e-4);
  });

  it("adds DeepStack chunks at the given positions only, from that position on", async () => {
    const b = built.fp32!;
    const embeds = await embed(b, [tokens]);
    const base = floats(
      (
        await b.decoder.run(
          decoderFeeds(b.manifest, { embeds, mask: [tokens.map(() => 1)], positions: textPositions(0, 7) }),
        )
      ).logits,
    );
    const deepstack = new Float32Array(7 * 3 * 64);
    deepstack.set(noise(3 * 64, 12), 3 * 3 * 64); // position 3 only
    const withDs = floats(
      (
        await b.decoder.run(
          decoderFeeds(b.manifest, { embeds, mask: [tokens.map(() => 1)], positions: textPositions(0, 7), deepstack }),
        )
      ).logits,
    );
    expect(maxAbsDiff(base.subarray(0, 3 * 151936), withDs.subarray(0, 3 * 151936))).toBe(0);
    expect(maxAbsDiff(base.subarray(3 * 151936, 4 * 151936), withDs.subarray(3 * 151936, 4 * 151936))).toBeGreaterThan(
      0.01,
    );
  });
});

describe("test-only mutations", () => {
  const ckptDir = join(root, "small");
  const sessions = new Map<string, Built>();
  const build = async (mutation?: GraphMutation) => {
    const out = join(root, `m-${mutation ?? "none"}`);
    const manifest = await buildModel(ckptDir, out, { dtype: "fp32", ...(mutation ? { mutation } : {}) });
    sessions.set(mutation ?? "none", await load(out, manifest));
    return manifest;
  };
  let config: ModelConfig;

  beforeAll(async () => {
    // A 512-row vocab keeps five extra builds quick; the mutations do not touch the vocab.
    config = (
      await makeTinyCheckpoint(ckptDir, {
        seed: 5,
        untied: true,
        shards: 2,
        arch: { text_config: { vocab_size: 512 } },
      })
    ).config;
    await build();
  });

  const runVision = async (name: string, mutation?: GraphMutation) =>
    floats((await sessions.get(name)!.vision.run(visionFeeds(config, 4, 6, mutation))).image_features);

  it.each(["vision-rotary-dropped", "gelu-swapped", "pos-embed-raster"] as const)(
    "%s changes the image features",
    async (mutation) => {
      const manifest = await build(mutation);
      expect(manifest.mutation).toBe(mutation);
      const diff = maxAbsDiff(await runVision(mutation, mutation), await runVision("none"));
      // tanh and erf GELU differ by at most ~5e-4 per element, so the swap moves features by ~1e-4..1e-3:
      // far above float32 noise (~1e-6), which is what a parity tolerance has to resolve.
      expect(diff).toBeGreaterThan(1e-4);
    },
  );

  const imagePositions = [[[0, 1, 2, 2, 2, 2, 6]], [[0, 1, 2, 2, 3, 3, 6]], [[0, 1, 2, 3, 2, 3, 6]]];
  const runDecoder = async (name: string, positions: number[][][], deepstack?: Float32Array) => {
    const b = sessions.get(name)!;
    const ids = [[1, 2, 3, 4, 5, 6, 7]];
    const out = await b.decoder.run(
      decoderFeeds(b.manifest, {
        embeds: await embed(b, ids),
        mask: [[1, 1, 1, 1, 1, 1, 1]],
        positions,
        ...(deepstack ? { deepstack } : {}),
      }),
    );
    return floats(out.logits);
  };

  it("mrope-chunked changes logits when T/H/W rows differ, and nothing for text-only positions", async () => {
    await build("mrope-chunked");
    expect(
      maxAbsDiff(await runDecoder("mrope-chunked", imagePositions), await runDecoder("none", imagePositions)),
    ).toBeGreaterThan(1e-3);
    const text = textPositions(0, 7);
    expect(maxAbsDiff(await runDecoder("mrope-chunked", text), await runDecoder("none", text))).toBeLessThan(1e-5);
  });

  it("deepstack-wrong-layer changes logits when DeepStack inputs are non-zero", async () => {
    await build("deepstack-wrong-layer");
    const deepstack = new Float32Array(7 * 3 * 64);
    deepstack.set(noise(4 * 3 * 64, 13), 2 * 3 * 64);
    const diff = maxAbsDiff(
      await runDecoder("deepstack-wrong-layer", imagePositions, deepstack),
      await runDecoder("none", imagePositions, deepstack),
    );
    expect(diff).toBeGreaterThan(1e-3);
    // With zero DeepStack inputs the fault is invisible, which is why parity tests must feed images.
    expect(
      maxAbsDiff(await runDecoder("deepstack-wrong-layer", imagePositions), await runDecoder("none", imagePositions)),
    ).toBe(0);
  });

  it("the GroupQueryAttention build matches the plain one, prefill and cached decode", async () => {
    const out = join(root, "gqa");
    const gqa = await load(out, await buildModel(ckptDir, out, { dtype: "fp32", attention: "gqa" }));
    expect(gqa.manifest.attention).toBe("gqa");
    // ORT's CUDA GroupQueryAttention takes fp16/bf16 only, so a float32 GQA graph is declared CPU-only.
    expect(gqa.manifest.executionProviders).toEqual(["cpu"]);
    expect(sessions.get("none")!.manifest.executionProviders).toEqual(["cpu", "cuda"]);
    const plain = sessions.get("none")!;
    const results = [];
    for (const b of [plain, gqa]) {
      const prefill = await b.decoder.run(
        decoderFeeds(b.manifest, {
          embeds: await embed(b, [[1, 2, 3, 4, 5, 6, 7]]),
          mask: [[1, 1, 1, 1, 1, 1, 1]],
          positions: imagePositions,
        }),
      );
      const next = await b.decoder.run(
        decoderFeeds(b.manifest, {
          embeds: await embed(b, [[8]]),
          mask: [[1, 1, 1, 1, 1, 1, 1, 1]],
          positions: textPositions(7, 1),
          past: prefill,
        }),
      );
      results.push({ prefill, next });
    }
    const [a, c] = results as [(typeof results)[0], (typeof results)[0]];
    expect(maxAbsDiff(floats(a.prefill.logits), floats(c.prefill.logits))).toBeLessThan(1e-4);
    expect(maxAbsDiff(floats(a.next.logits), floats(c.next.logits))).toBeLessThan(1e-4);
    expect(c.next["present.1.value"]!.dims).toEqual([1, 2, 8, 32]);
    expect(maxAbsDiff(floats(a.next["present.1.key"]), floats(c.next["present.1.key"]))).toBeLessThan(1e-5);
  });

  it("checks every weight before writing, never leaves a half-written folder, only replaces its own builds", async () => {
    // config.json says 5 ViT blocks, the weights have 4.
    const broken = join(root, "broken");
    cpSync(ckptDir, broken, { recursive: true });
    const configJson = JSON.parse(readFileSync(join(broken, "config.json"), "utf8"));
    configJson.vision_config.depth = 5;
    writeFileSync(join(broken, "config.json"), JSON.stringify(configJson));
    const out = join(root, "broken-out");
    await expect(buildModel(broken, out, { dtype: "fp32" })).rejects.toMatchObject({
      code: "MODEL_LOAD_FAILED",
      message: expect.stringContaining("model.visual.blocks.4."),
    });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(root).filter((name) => name.includes("partial"))).toEqual([]);

    const foreign = join(root, "foreign");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "notes.txt"), "mine");
    await expect(buildModel(ckptDir, foreign, { dtype: "fp32" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(readFileSync(join(foreign, "notes.txt"), "utf8")).toBe("mine");

    // A previous build is replaced whole.
    const again = join(root, "rebuild");
    await buildModel(ckptDir, again, { dtype: "fp32", lastTokenLogits: true });
    const manifest = await buildModel(ckptDir, again, { dtype: "int4" });
    expect(manifest.logits).toBe("all");
    expect(manifest.dtype).toBe("int4");
    expect(readdirSync(again).sort()).toEqual([
      "decoder.onnx",
      "decoder.onnx.data",
      "embedding.onnx",
      "embedding.onnx.data",
      "manifest.json",
      "vision.onnx",
      "vision.onnx.data",
    ]);
  });

  it("builds from the command line, with last-token logits, and rejects an unknown dtype", async () => {
    const out = join(root, "cli");
    const run = await runSquint(["models", "build", ckptDir, out, "--dtype", "int4", "--last-token-logits"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")));
    expect(manifest.logits).toBe("last");
    expect(manifest.int4BlockSize).toBe(32);
    const b = await load(out, manifest);
    const ids = [[1, 2, 3]];
    const logits = (
      await b.decoder.run(
        decoderFeeds(manifest, { embeds: await embed(b, ids), mask: [[1, 1, 1]], positions: textPositions(0, 3) }),
      )
    ).logits!;
    expect(logits.dims).toEqual([1, 1, 512]);
    const bad = await runSquint(["models", "build", ckptDir, out, "--dtype", "int3"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("INVALID_ARGUMENT");
  });

  it("takes --kv-dtype float16 with append attention only, and refuses other values", async () => {
    const out = join(root, "cli-kv16");
    const ok = await runSquint(["models", "build", ckptDir, out, "--attention", "append", "--kv-dtype", "float16"]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("float16 KV cache");
    const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")));
    expect(manifest.kvDtype).toBe("float16");
    expect(manifest.graphs.decoder.inputs.find((t) => t.name === "past_key_values.0.key")?.dtype).toBe("float16");
    const plain = await runSquint(["models", "build", ckptDir, join(root, "cli-kv16-plain"), "--kv-dtype", "float16"]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain("--attention append");
    const bogus = await runSquint(["models", "build", ckptDir, out, "--attention", "append", "--kv-dtype", "int8"]);
    expect(bogus.code).toBe(1);
    expect(bogus.stderr).toContain("--kv-dtype is float32 or float16");
  });

  it("takes --prefill-dtype int8 for int4 builds only (an int8 twin of the decoder) and --vision-dtype int8, and refuses other values", async () => {
    const out = join(root, "cli-prefill-int8");
    const ok = await runSquint([
      ...["models", "build", ckptDir, out, "--dtype", "int4"],
      ...["--prefill-dtype", "int8", "--vision-dtype", "int8"],
    ]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("decoder-prefill.onnx");
    expect(ok.stdout).toContain("int8 prefill decoder, int8 vision layers");
    const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")));
    expect(manifest.prefillDtype).toBe("int8");
    expect(manifest.visionDtype).toBe("int8");
    expect(manifest.graphs.prefill?.file).toBe("decoder-prefill.onnx");
    const fp32 = await runSquint([
      "models",
      "build",
      ckptDir,
      join(root, "cli-prefill-fp32"),
      "--prefill-dtype",
      "int8",
    ]);
    expect(fp32.code).toBe(1);
    expect(fp32.stderr).toContain("int4 builds");
    const bogus = await runSquint(["models", "build", ckptDir, out, "--dtype", "int4", "--prefill-dtype", "int4"]);
    expect(bogus.code).toBe(1);
    expect(bogus.stderr).toContain("--prefill-dtype is int8");
    const bogusVision = await runSquint(["models", "build", ckptDir, out, "--vision-dtype", "int4"]);
    expect(bogusVision.code).toBe(1);
    expect(bogusVision.stderr).toContain("--vision-dtype is int8");
  });

  it("builds fused vision attention by default and the plain form with --vision-attention plain", async () => {
    const opTypes = (dir: string) => readFileSync(join(dir, "vision.onnx")).toString("latin1");
    const fusedOut = join(root, "cli-vision-fused");
    expect((await runSquint(["models", "build", ckptDir, fusedOut])).code).toBe(0);
    const fused = manifestSchema.parse(JSON.parse(readFileSync(join(fusedOut, "manifest.json"), "utf8")));
    expect(fused.visionAttention).toBe("fused");
    expect(opTypes(fusedOut)).toContain("MultiHeadAttention");
    const plainOut = join(root, "cli-vision-plain");
    expect((await runSquint(["models", "build", ckptDir, plainOut, "--vision-attention", "plain"])).code).toBe(0);
    const plain = manifestSchema.parse(JSON.parse(readFileSync(join(plainOut, "manifest.json"), "utf8")));
    expect(plain.visionAttention).toBe("plain");
    expect(opTypes(plainOut)).not.toContain("MultiHeadAttention");
    expect(opTypes(plainOut)).toContain("Softmax");
    const bogus = await runSquint(["models", "build", ckptDir, plainOut, "--vision-attention", "flash"]);
    expect(bogus.code).toBe(1);
    expect(bogus.stderr).toContain("--vision-attention is fused or plain");
  });
});
