/**
 * Writes a Qwen3-VL checkpoint's text decoder as a GGUF file (format version 3) in llama.cpp's `qwen3`
 * architecture, with every 2-D weight in Q4_0, so that llama.cpp runs the very same random weights as Squint's
 * int4 build (bench/engine/llama-cpp.ts). Bench-only: written from the GGUF format description (header,
 * typed metadata, tensor infos with ggml dimension order, 32-byte aligned data) and the Q4_0 block layout
 * (fp16 scale d, 16 bytes of nibbles: element j in the low nibble of byte j, element j+16 in the high nibble;
 * value = (q − 8)·d, d = the block's signed largest-magnitude value / −8).
 */
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Checkpoint } from "../../src/model/checkpoint/checkpoint.js";
import { encodeFloat16Array } from "../../src/model/checkpoint/float-formats.js";
import { TEXT } from "../../src/model/checkpoint/weight-names.js";

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const GGUF_VERSION = 3;
const ALIGNMENT = 32;
enum ValueType {
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  String = 8,
  Array = 9,
}
enum GgmlType {
  F32 = 0,
  Q4_0 = 2,
}
const FILE_TYPE_MOSTLY_Q4_0 = 2;
/** llama.cpp token types. */
const TOKEN_NORMAL = 1;
const TOKEN_CONTROL = 3;
const TOKEN_USER_DEFINED = 4;
const TOKEN_UNUSED = 5;

type Meta =
  | { type: ValueType.Uint32 | ValueType.Int32 | ValueType.Float32; value: number }
  | { type: ValueType.String; value: string }
  | { type: ValueType.Array; strings: string[] }
  | { type: ValueType.Array; int32s: number[] };

/** Little-endian byte writer that grows as needed. */
class Bytes {
  private buf = Buffer.alloc(1 << 20);
  length = 0;
  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  u64(v: number): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  str(s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.reserve(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  pad(to: number): void {
    const n = (to - (this.length % to)) % to;
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  get bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Q4_0 blocks (18 bytes per 32 values) of `rows` × `k` float32 values, k a multiple of 32. */
export function quantizeQ4_0(values: Float32Array, k: number): Uint8Array {
  const rows = values.length / k;
  const blocksPerRow = k / 32;
  const out = new Uint8Array(rows * blocksPerRow * 18);
  const scale = new Float32Array(1);
  let o = 0;
  for (let b = 0; b < rows * blocksPerRow; b++) {
    const base = b * 32;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = values[base + j]!;
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = max / -8;
    const id = d === 0 ? 0 : 1 / d;
    scale[0] = d;
    const half = encodeFloat16Array(scale, "fp16");
    out[o] = half[0]!;
    out[o + 1] = half[1]!;
    for (let j = 0; j < 16; j++) {
      const lo = Math.min(15, Math.trunc(values[base + j]! * id + 8.5));
      const hi = Math.min(15, Math.trunc(values[base + 16 + j]! * id + 8.5));
      out[o + 2 + j] = lo | (hi << 4);
    }
    o += 18;
  }
  return out;
}

interface TensorPlan {
  name: string;
  source: string;
  /** Checkpoint shape, row-major ([out, in] for a linear). */
  shape: number[];
  type: GgmlType;
}

/** Writes `<checkpoint>`'s text decoder to `outFile` as GGUF Q4_0. Returns the file's size in bytes. */
export async function writeGgufQ4_0(checkpointDir: string, outFile: string): Promise<number> {
  const ckpt = await Checkpoint.open(checkpointDir);
  try {
    const t = ckpt.config.text;
    const H = t.hiddenSize;
    const hd = t.headDim;
    const plans: TensorPlan[] = [];
    const add = (name: string, source: string, shape: number[], type: GgmlType) =>
      plans.push({ name, source, shape, type });
    add("token_embd.weight", `${TEXT}.embed_tokens.weight`, [t.vocabSize, H], GgmlType.Q4_0);
    for (let i = 0; i < t.numLayers; i++) {
      const p = `${TEXT}.layers.${i}`;
      add(`blk.${i}.attn_norm.weight`, `${p}.input_layernorm.weight`, [H], GgmlType.F32);
      add(`blk.${i}.attn_q.weight`, `${p}.self_attn.q_proj.weight`, [t.numHeads * hd, H], GgmlType.Q4_0);
      add(`blk.${i}.attn_k.weight`, `${p}.self_attn.k_proj.weight`, [t.numKeyValueHeads * hd, H], GgmlType.Q4_0);
      add(`blk.${i}.attn_v.weight`, `${p}.self_attn.v_proj.weight`, [t.numKeyValueHeads * hd, H], GgmlType.Q4_0);
      add(`blk.${i}.attn_output.weight`, `${p}.self_attn.o_proj.weight`, [H, t.numHeads * hd], GgmlType.Q4_0);
      add(`blk.${i}.attn_q_norm.weight`, `${p}.self_attn.q_norm.weight`, [hd], GgmlType.F32);
      add(`blk.${i}.attn_k_norm.weight`, `${p}.self_attn.k_norm.weight`, [hd], GgmlType.F32);
      add(`blk.${i}.ffn_norm.weight`, `${p}.post_attention_layernorm.weight`, [H], GgmlType.F32);
      add(`blk.${i}.ffn_gate.weight`, `${p}.mlp.gate_proj.weight`, [t.intermediateSize, H], GgmlType.Q4_0);
      add(`blk.${i}.ffn_up.weight`, `${p}.mlp.up_proj.weight`, [t.intermediateSize, H], GgmlType.Q4_0);
      add(`blk.${i}.ffn_down.weight`, `${p}.mlp.down_proj.weight`, [H, t.intermediateSize], GgmlType.Q4_0);
    }
    add("output_norm.weight", `${TEXT}.norm.weight`, [H], GgmlType.F32);
    // A tied checkpoint has no lm_head: llama.cpp's qwen3 then reuses token_embd as the output matrix.
    if (!ckpt.config.tieWordEmbeddings) add("output.weight", "lm_head.weight", [t.vocabSize, H], GgmlType.Q4_0);

    const { tokens, types, merges } = await ggufVocab(checkpointDir, t.vocabSize);
    const meta: [string, Meta][] = [
      ["general.architecture", { type: ValueType.String, value: "qwen3" }],
      ["general.name", { type: ValueType.String, value: "squint-bench random Qwen3-VL text decoder" }],
      ["general.file_type", { type: ValueType.Uint32, value: FILE_TYPE_MOSTLY_Q4_0 }],
      ["general.alignment", { type: ValueType.Uint32, value: ALIGNMENT }],
      ["qwen3.context_length", { type: ValueType.Uint32, value: 32768 }],
      ["qwen3.embedding_length", { type: ValueType.Uint32, value: H }],
      ["qwen3.block_count", { type: ValueType.Uint32, value: t.numLayers }],
      ["qwen3.feed_forward_length", { type: ValueType.Uint32, value: t.intermediateSize }],
      ["qwen3.attention.head_count", { type: ValueType.Uint32, value: t.numHeads }],
      ["qwen3.attention.head_count_kv", { type: ValueType.Uint32, value: t.numKeyValueHeads }],
      ["qwen3.attention.key_length", { type: ValueType.Uint32, value: hd }],
      ["qwen3.attention.value_length", { type: ValueType.Uint32, value: hd }],
      ["qwen3.rope.freq_base", { type: ValueType.Float32, value: t.ropeTheta }],
      ["qwen3.attention.layer_norm_rms_epsilon", { type: ValueType.Float32, value: t.rmsNormEps }],
      ["tokenizer.ggml.model", { type: ValueType.String, value: "gpt2" }],
      ["tokenizer.ggml.pre", { type: ValueType.String, value: "qwen2" }],
      ["tokenizer.ggml.tokens", { type: ValueType.Array, strings: tokens }],
      ["tokenizer.ggml.token_type", { type: ValueType.Array, int32s: types }],
      ["tokenizer.ggml.merges", { type: ValueType.Array, strings: merges }],
      ["tokenizer.ggml.bos_token_id", { type: ValueType.Uint32, value: 151643 }],
      ["tokenizer.ggml.eos_token_id", { type: ValueType.Uint32, value: 151645 }],
      ["tokenizer.ggml.padding_token_id", { type: ValueType.Uint32, value: 151643 }],
    ];

    const head = new Bytes();
    head.u32(GGUF_MAGIC);
    head.u32(GGUF_VERSION);
    head.u64(plans.length);
    head.u64(meta.length);
    for (const [key, m] of meta) {
      head.str(key);
      head.u32(m.type);
      if (m.type === ValueType.String) head.str(m.value);
      else if (m.type === ValueType.Uint32) head.u32(m.value);
      else if (m.type === ValueType.Int32) head.i32(m.value);
      else if (m.type === ValueType.Float32) head.f32(m.value);
      else if ("strings" in m) {
        head.u32(ValueType.String);
        head.u64(m.strings.length);
        for (const s of m.strings) head.str(s);
      } else if ("int32s" in m) {
        head.u32(ValueType.Int32);
        head.u64(m.int32s.length);
        for (const v of m.int32s) head.i32(v);
      }
    }
    let offset = 0;
    const sizes: number[] = [];
    for (const plan of plans) {
      const count = plan.shape.reduce((a, b) => a * b, 1);
      const size = plan.type === GgmlType.Q4_0 ? (count / 32) * 18 : count * 4;
      head.str(plan.name);
      head.u32(plan.shape.length);
      // ggml lists dimensions innermost first.
      for (const d of [...plan.shape].reverse()) head.u64(d);
      head.u32(plan.type);
      head.u64(offset);
      sizes.push(size);
      offset += size + ((ALIGNMENT - (size % ALIGNMENT)) % ALIGNMENT);
    }
    head.pad(ALIGNMENT);

    const file = await open(outFile, "w");
    try {
      let position = 0;
      const write = async (bytes: Uint8Array) => {
        await file.write(bytes, 0, bytes.length, position);
        position += bytes.length;
      };
      await write(head.bytes);
      for (const [index, plan] of plans.entries()) {
        if (plan.type === GgmlType.F32) {
          const { data } = await ckpt.read(plan.source, plan.shape);
          await write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        } else {
          const rows = ckpt.rows(plan.source, plan.shape);
          const step = Math.max(1, Math.floor((4 << 20) / rows.k));
          for (let start = 0; start < rows.n; start += step) {
            await write(quantizeQ4_0(await rows.read(start, Math.min(step, rows.n - start)), rows.k));
          }
        }
        const padding = (ALIGNMENT - (sizes[index]! % ALIGNMENT)) % ALIGNMENT;
        if (padding > 0 && index < plans.length - 1) await write(new Uint8Array(padding));
      }
      return position;
    } finally {
      await file.close();
    }
  } finally {
    await ckpt.close();
  }
}

/** The checkpoint's tokenizer.json as GGUF vocab arrays, padded to the model's vocabulary size. */
async function ggufVocab(
  checkpointDir: string,
  vocabSize: number,
): Promise<{ tokens: string[]; types: number[]; merges: string[] }> {
  const json = JSON.parse(await readFile(join(checkpointDir, "tokenizer.json"), "utf8")) as {
    model: { vocab: Record<string, number>; merges: (string | [string, string])[] };
    added_tokens: { id: number; content: string; special: boolean }[];
  };
  const tokens: string[] = Array.from({ length: vocabSize }, (_, i) => `[PAD${i}]`);
  const types: number[] = Array.from({ length: vocabSize }, () => TOKEN_UNUSED);
  for (const [token, id] of Object.entries(json.model.vocab)) {
    if (id < vocabSize) {
      tokens[id] = token;
      types[id] = TOKEN_NORMAL;
    }
  }
  for (const added of json.added_tokens) {
    if (added.id < vocabSize) {
      tokens[added.id] = added.content;
      types[added.id] = added.special ? TOKEN_CONTROL : TOKEN_USER_DEFINED;
    }
  }
  const merges = json.model.merges.map((m) => (typeof m === "string" ? m : `${m[0]} ${m[1]}`));
  return { tokens, types, merges };
}
