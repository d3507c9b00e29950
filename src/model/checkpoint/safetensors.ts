import { createWriteStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import { bytesToFloat32Array, decodeFloat16Array, encodeFloat16Array, float32ArrayToBytes } from "./float-formats.js";

/**
 * The safetensors format (8-byte little-endian header length, a JSON header, then raw little-endian tensor
 * bytes at `data_offsets` relative to the end of the header). The reader keeps only the header in memory and
 * reads one tensor at a time by offset, so a 32B checkpoint can be converted in bounded memory.
 */

export const safetensorsDtypeSchema = z.enum(["F32", "F16", "BF16", "I64", "I32", "U8", "I8", "BOOL", "F64"]);
export type SafetensorsDtype = z.infer<typeof safetensorsDtypeSchema>;

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  U8: 1,
  I8: 1,
  BOOL: 1,
};

const tensorEntrySchema = z.object({
  dtype: safetensorsDtypeSchema,
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset of the tensor's data in the file. */
  offset: number;
  byteLength: number;
}

export interface Float32Tensor {
  shape: number[];
  data: Float32Array;
}

/** Largest header we accept; real checkpoints have a few hundred KiB. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class SafetensorsReader {
  readonly path: string;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Record<string, string>;
  private readonly handle: FileHandle;

  private constructor(
    path: string,
    handle: FileHandle,
    tensors: Map<string, TensorInfo>,
    metadata: Record<string, string>,
  ) {
    this.path = path;
    this.handle = handle;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  static async open(path: string): Promise<SafetensorsReader> {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      throw new SquintError("NOT_FOUND", `cannot open ${path}`, {
        hint: "Check the checkpoint directory: it needs model.safetensors or model.safetensors.index.json and its shards.",
        cause: error,
      });
    }
    try {
      const { size } = await handle.stat();
      const lengthBytes = Buffer.alloc(8);
      await handle.read(lengthBytes, 0, 8, 0);
      const headerLength = Number(lengthBytes.readBigUInt64LE(0));
      if (size < 8 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
        throw corrupt(path, `header length ${headerLength} does not fit a ${size}-byte file`);
      }
      const headerBytes = Buffer.alloc(headerLength);
      await handle.read(headerBytes, 0, headerLength, 8);
      let json: unknown;
      try {
        json = JSON.parse(headerBytes.toString("utf8"));
      } catch (error) {
        throw corrupt(path, "header is not JSON", error);
      }
      if (typeof json !== "object" || json === null || Array.isArray(json))
        throw corrupt(path, "header is not an object");
      const tensors = new Map<string, TensorInfo>();
      let metadata: Record<string, string> = {};
      const dataStart = 8 + headerLength;
      for (const [name, value] of Object.entries(json)) {
        if (name === "__metadata__") {
          const parsedMeta = z.record(z.string(), z.string()).safeParse(value);
          if (parsedMeta.success) metadata = parsedMeta.data;
          continue;
        }
        const parsed = tensorEntrySchema.safeParse(value);
        if (!parsed.success) throw corrupt(path, `tensor "${name}" has an invalid header entry`);
        const {
          dtype,
          shape,
          data_offsets: [start, end],
        } = parsed.data;
        const byteLength = end - start;
        if (byteLength !== elementCount(shape) * BYTES_PER_ELEMENT[dtype] || dataStart + end > size) {
          throw corrupt(path, `tensor "${name}" (${dtype} ${JSON.stringify(shape)}) has inconsistent offsets`);
        }
        tensors.set(name, { name, dtype, shape, offset: dataStart + start, byteLength });
      }
      return new SafetensorsReader(path, handle, tensors, metadata);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) {
      throw new SquintError("NOT_FOUND", `tensor "${name}" is not in ${this.path}`, {
        hint: "The checkpoint is missing a weight Squint needs; is it a complete Qwen3-VL checkpoint?",
      });
    }
    return info;
  }

  /** The tensor's raw little-endian bytes, read from disk now. */
  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    const bytes = new Uint8Array(info.byteLength);
    let done = 0;
    // A single read may return fewer bytes than asked for on large tensors.
    while (done < info.byteLength) {
      const { bytesRead } = await this.handle.read(bytes, done, info.byteLength - done, info.offset + done);
      if (bytesRead === 0) throw corrupt(this.path, `unexpected end of file in tensor "${name}"`);
      done += bytesRead;
    }
    return bytes;
  }

  /**
   * Rows [start, start + count) of a tensor (along its first axis) as float32: how large tensors are
   * converted without holding them whole.
   */
  async readFloat32Rows(name: string, start: number, count: number): Promise<Float32Array> {
    const info = this.info(name);
    const rows = info.shape[0] ?? 1;
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > rows) {
      throw new SquintError("INTERNAL", `rows ${start}..${start + count} out of range for "${name}" (${rows} rows)`);
    }
    const rowBytes = rows === 0 ? 0 : info.byteLength / rows;
    const bytes = new Uint8Array(rowBytes * count);
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesRead } = await this.handle.read(
        bytes,
        done,
        bytes.byteLength - done,
        info.offset + start * rowBytes + done,
      );
      if (bytesRead === 0) throw corrupt(this.path, `unexpected end of file in tensor "${name}"`);
      done += bytesRead;
    }
    return bytesToFloat32(info.dtype, bytes, name);
  }

  /** The tensor converted to float32 (from F32, F16 or BF16). */
  async readFloat32(name: string): Promise<Float32Tensor> {
    const info = this.info(name);
    const bytes = await this.readBytes(name);
    return { shape: [...info.shape], data: bytesToFloat32(info.dtype, bytes, name) };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

export function bytesToFloat32(dtype: SafetensorsDtype, bytes: Uint8Array, name = "tensor"): Float32Array {
  switch (dtype) {
    case "F32":
      return bytesToFloat32Array(bytes);
    case "BF16":
      return decodeFloat16Array(bytes, "bf16");
    case "F16":
      return decodeFloat16Array(bytes, "fp16");
    default:
      throw new SquintError("INVALID_CONFIG", `${name} has dtype ${dtype}; Squint reads F32, F16 and BF16 weights`, {
        hint: "Use an unquantized (bf16/fp16/fp32) checkpoint; Squint quantizes itself with --dtype int4.",
      });
  }
}

export function float32ToBytes(dtype: "F32" | "F16" | "BF16", values: Float32Array): Uint8Array {
  if (dtype === "F32") return float32ArrayToBytes(values);
  return encodeFloat16Array(values, dtype === "BF16" ? "bf16" : "fp16");
}

function corrupt(path: string, what: string, cause?: unknown): SquintError {
  return new SquintError("MODEL_LOAD_FAILED", `${path} is not a valid safetensors file: ${what}`, {
    hint: "Re-download the checkpoint; the file may be truncated or not a safetensors file.",
    cause,
  });
}

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
}

/**
 * Writes a safetensors file whose tensors are produced one at a time by `produce` (called in the order of
 * `tensors`), so the writer never holds more than one tensor.
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorToWrite[],
  produce: (tensor: TensorToWrite) => Uint8Array | Promise<Uint8Array>,
  metadata: Record<string, string> = { format: "pt" },
): Promise<number> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const tensor of tensors) {
    const length = elementCount(tensor.shape) * BYTES_PER_ELEMENT[tensor.dtype];
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let headerText = JSON.stringify(header);
  // Pad with spaces so tensor data starts 8-byte aligned, as the reference writer does.
  const pad = (8 - (Buffer.byteLength(headerText) % 8)) % 8;
  headerText += " ".repeat(pad);
  const headerBytes = Buffer.from(headerText, "utf8");
  const lengthBytes = Buffer.alloc(8);
  lengthBytes.writeBigUInt64LE(BigInt(headerBytes.length));
  const stream = createWriteStream(path);
  const write = (chunk: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      stream.write(chunk, (error) => (error ? reject(error) : resolve()));
    });
  try {
    await write(lengthBytes);
    await write(headerBytes);
    for (const tensor of tensors) {
      const bytes = await produce(tensor);
      const expected = elementCount(tensor.shape) * BYTES_PER_ELEMENT[tensor.dtype];
      if (bytes.byteLength !== expected) {
        throw new SquintError(
          "INTERNAL",
          `tensor "${tensor.name}" produced ${bytes.byteLength} bytes, expected ${expected}`,
        );
      }
      await write(bytes);
    }
  } finally {
    await new Promise<void>((resolve, reject) =>
      stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
  return 8 + headerBytes.length + offset;
}

export function bytesPerElement(dtype: SafetensorsDtype): number {
  return BYTES_PER_ELEMENT[dtype];
}
