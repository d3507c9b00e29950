/**
 * Conversions between float32 and the 16-bit float formats checkpoints ship (bfloat16, IEEE half).
 * Node 20 has no Float16Array, so these work on raw bit patterns. Rounding is round-to-nearest-even,
 * as torch's `.to(torch.bfloat16)` / `.half()` do, so a tensor written here reads back like one written by
 * PyTorch.
 */

import { endianness } from "node:os";

const scratch = new DataView(new ArrayBuffer(4));
/** Typed arrays use host byte order; files are little-endian. On LE hosts views can be reused as-is. */
const LITTLE_ENDIAN_HOST = endianness() === "LE";

function floatBits(value: number): number {
  scratch.setFloat32(0, value, true);
  return scratch.getUint32(0, true);
}

function bitsFloat(bits: number): number {
  scratch.setUint32(0, bits >>> 0, true);
  return scratch.getFloat32(0, true);
}

export function float32ToBfloat16Bits(value: number): number {
  const x = floatBits(value);
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function bfloat16BitsToFloat32(bits: number): number {
  return bitsFloat((bits & 0xffff) << 16);
}

export function float32ToFloat16Bits(value: number): number {
  const x = floatBits(value);
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): value = r · 2^-24.
    if (e < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    const half = 2 ** (shift - 1);
    let r = Math.floor(full / 2 ** shift);
    const rem = full - r * 2 ** shift;
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mantissa >>> 13);
  const rem = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++;
  return sign | r;
}

export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >>> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return bitsFloat(((bits & 0x8000) << 16) | ((e - 15 + 127) << 23) | (m << 13));
}

/** Little-endian 16-bit words from float32 values. */
export function encodeFloat16Array(values: Float32Array, format: "bf16" | "fp16"): Uint8Array {
  const out = new Uint16Array(values.length);
  if (format === "bf16") {
    // Inline round-to-nearest-even on the bit patterns: this runs over every weight of a checkpoint.
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < values.length; i++) {
      const x = bits[i]!;
      out[i] =
        (x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0
          ? ((x >>> 16) | 0x40) & 0xffff
          : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
    }
  } else {
    for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!);
  }
  return toLittleEndianBytes(out);
}

export function decodeFloat16Array(bytes: Uint8Array, format: "bf16" | "fp16"): Float32Array {
  const count = bytes.byteLength / 2;
  if (format === "bf16" && LITTLE_ENDIAN_HOST && bytes.byteOffset % 2 === 0) {
    const words = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    const out = new Uint32Array(count);
    for (let i = 0; i < count; i++) out[i] = words[i]! << 16;
    return new Float32Array(out.buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (format === "bf16") {
    const words = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) words[i] = view.getUint16(i * 2, true) << 16;
  } else {
    for (let i = 0; i < count; i++) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
  }
  return out;
}

function toLittleEndianBytes(words: Uint16Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const bytes = new Uint8Array(words.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) view.setUint16(i * 2, words[i]!, true);
  return bytes;
}

export function float32ArrayToBytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

export function bytesToFloat32Array(bytes: Uint8Array): Float32Array {
  if (LITTLE_ENDIAN_HOST) {
    // Copy: the source may be unaligned or shared.
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
