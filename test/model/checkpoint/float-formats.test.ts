import { describe, expect, it } from "vitest";
import {
  bfloat16BitsToFloat32,
  decodeFloat16Array,
  encodeFloat16Array,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from "../../../src/model/checkpoint/float-formats.js";

describe("bfloat16", () => {
  it("encodes known values with round-to-nearest-even", () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(-2)).toBe(0xc000);
    // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(float32ToBfloat16Bits(Number.POSITIVE_INFINITY)).toBe(0x7f80);
    expect(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(Number.NaN)))).toBe(true);
  });

  it("round-trips every non-NaN 16-bit pattern exactly (scalar and array paths)", () => {
    const patterns: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = bfloat16BitsToFloat32(bits);
      if (Number.isNaN(value)) continue;
      patterns.push(bits);
      if (float32ToBfloat16Bits(value) !== bits) throw new Error(`bf16 0x${bits.toString(16)} does not round-trip`);
    }
    const values = Float32Array.from(patterns, (bits) => bfloat16BitsToFloat32(bits));
    const decoded = decodeFloat16Array(encodeFloat16Array(values, "bf16"), "bf16");
    expect(Array.from(decoded)).toEqual(Array.from(values));
  });
});

describe("float16", () => {
  it("encodes known values, subnormals, overflow and ties", () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-0.5)).toBe(0xb800);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // rounds up past the largest finite half
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -26)).toBe(0x0000); // below half of it
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(float16BitsToFloat32(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(float16BitsToFloat32(0x7e00))).toBe(true);
  });

  it("round-trips every non-NaN 16-bit pattern exactly (scalar and array paths)", () => {
    const values: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = float16BitsToFloat32(bits);
      if (Number.isNaN(value)) continue;
      values.push(value);
      const back = float32ToFloat16Bits(value);
      // +0 and -0 are distinct patterns; compare bits.
      if (back !== bits) throw new Error(`fp16 0x${bits.toString(16)} -> 0x${back.toString(16)}`);
    }
    const array = Float32Array.from(values);
    expect(Array.from(decodeFloat16Array(encodeFloat16Array(array, "fp16"), "fp16"))).toEqual(Array.from(array));
  });
});
