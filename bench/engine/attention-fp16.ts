/**
 * Can a float16 KV cache be read without converting it every step (issue 9)? The append decoder's float16
 * build Casts each layer's cache to float32 for its MatMuls, because ONNX Runtime's CPU MatMul has no float16
 * kernel. This bench asks the CPU execution provider whether any attention kernel reads float16 directly
 * and faster: one layer's attention for one new token at the 2B shape (16 query heads, 8 KV heads, head_dim
 * 128), the cache positions-first as the append decoder holds it ([1, T, kvh·hd]), 2 threads:
 *   - ONNX Attention (opset 23) on a float32 cache (what the float32 build's traffic is),
 *   - the same on a float16 cache (no conversion in the graph),
 *   - Cast to float32, then Attention on float32 (the conversion the float16 build does),
 *   - com.microsoft MultiHeadAttention on float16 (whether the CPU EP has the kernel at all).
 * Runs alternate; the median of each is reported.
 *
 *   node --import tsx bench/engine/attention-fp16.ts [--context 1024,4096] [--runs 40]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { attr, GraphBuilder } from "../../src/model/graph/graph-builder.js";

const NH = 16;
const KVH = 8;
const HD = 128;
const flag = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : (process.argv[at + 1] ?? fallback);
};
const CONTEXTS = flag("context", "1024,4096").split(",").map(Number);
const RUNS = Number(flag("runs", "40"));

type Dtype = "float32" | "float16";
interface Variant {
  name: string;
  cache: Dtype;
  build(g: GraphBuilder, q: string, k: string, v: string): string;
  domain?: string;
}

const attention23 = (g: GraphBuilder, q: string, k: string, v: string) =>
  g.node("Attention", [q, k, v], { q_num_heads: attr.int(NH), kv_num_heads: attr.int(KVH) });
const toFloat = (g: GraphBuilder, x: string) => g.node("Cast", [x], { to: attr.int(1) });

const VARIANTS: Variant[] = [
  { name: "Attention-23, float32 cache", cache: "float32", build: attention23 },
  { name: "Attention-23, float16 cache (no conversion)", cache: "float16", build: attention23 },
  {
    name: "Cast to float32 + Attention-23 (the float16 build today)",
    cache: "float16",
    build: (g, q, k, v) => attention23(g, toFloat(g, q), toFloat(g, k), toFloat(g, v)),
  },
  {
    name: "com.microsoft MultiHeadAttention, float16",
    cache: "float16",
    // MHA has no GQA: the 8 KV heads are fed as 16 (each twice), which is more traffic, not less; it only
    // matters whether the kernel exists on the CPU EP.
    build: (g, q, k, v) => {
      const twice = (x: string) =>
        g.node("Reshape", [
          g.node(
            "Concat",
            [g.node("Reshape", [x, g.int64([1, -1, KVH, 1, HD])])].flatMap((y) => [y, y]),
            {
              axis: attr.int(3),
            },
          ),
          g.int64([1, -1, NH * HD]),
        ]);
      return g.node(
        "MultiHeadAttention",
        [q, twice(k), twice(v)],
        { num_heads: attr.int(NH) },
        { domain: "com.microsoft" },
      );
    },
  },
];

const dir = mkdtempSync(path.join(tmpdir(), "squint-attention-fp16-"));
function randomCache(dtype: Dtype, count: number): ort.Tensor["data"] {
  if (dtype === "float32") return Float32Array.from({ length: count }, () => Math.random() - 0.5);
  // float16 bit patterns of values in about ±0.5: sign, exponent 13 or 14, random mantissa.
  return Uint16Array.from(
    { length: count },
    (_, i) => ((i & 1) << 15) | ((13 + (i & 2 ? 1 : 0)) << 10) | ((i * 2654435761) >>> 22),
  );
}

async function session(variant: Variant, index: number): Promise<ort.InferenceSession | string> {
  const g = new GraphBuilder({
    name: `attention-${index}`,
    externalDataPath: path.join(dir, `w${index}.bin`),
    externalDataLocation: `w${index}.bin`,
    opset: 23,
  });
  const q = g.input("q", variant.cache, [1, 1, NH * HD]);
  const k = g.input("k", variant.cache, [1, "T", KVH * HD]);
  const v = g.input("v", variant.cache, [1, "T", KVH * HD]);
  const out = variant.build(g, q, k, v);
  g.output(
    "out",
    variant.cache === "float16" && variant.name.startsWith("Cast") ? "float32" : variant.cache,
    [1, 1, NH * HD],
    out,
  );
  const file = path.join(dir, `a${index}.onnx`);
  writeFileSync(file, g.finish());
  try {
    return await ort.InferenceSession.create(file, { executionProviders: ["cpu"], intraOpNumThreads: 2 });
  } catch (error) {
    return String(error).split("\n")[0]!.slice(0, 160);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

try {
  const sessions = await Promise.all(VARIANTS.map(session));
  console.log(`one layer's attention, 1 new token, ${NH}/${KVH} heads × ${HD}, ${RUNS} alternating runs, 2 threads\n`);
  console.log("| context | variant | ms per call (median) | vs float32 |");
  console.log("|---:|---|---:|---:|");
  for (const context of CONTEXTS) {
    const feeds = (dtype: Dtype) => ({
      q: new ort.Tensor(dtype, randomCache(dtype, NH * HD), [1, 1, NH * HD]),
      k: new ort.Tensor(dtype, randomCache(dtype, context * KVH * HD), [1, context, KVH * HD]),
      v: new ort.Tensor(dtype, randomCache(dtype, context * KVH * HD), [1, context, KVH * HD]),
    });
    const inputs = { float32: feeds("float32"), float16: feeds("float16") };
    const times: number[][] = VARIANTS.map(() => []);
    for (let run = -2; run < RUNS; run++) {
      for (const [i, variant] of VARIANTS.entries()) {
        const s = sessions[i]!;
        if (typeof s === "string") continue;
        const start = performance.now();
        await s.run(inputs[variant.cache]);
        if (run >= 0) times[i]!.push(performance.now() - start);
      }
    }
    const base = median(times[0]!);
    for (const [i, variant] of VARIANTS.entries()) {
      const s = sessions[i]!;
      const cell = typeof s === "string" ? `not available: ${s}` : median(times[i]!).toFixed(3);
      const ratio = typeof s === "string" ? "–" : `${(median(times[i]!) / base).toFixed(2)}×`;
      console.log(`| ${context} | ${variant.name} | ${cell} | ${ratio} |`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
