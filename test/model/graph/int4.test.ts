import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dequantizeInt4, quantizeInt4 } from "../../../src/model/graph/int4.js";

describe("quantizeInt4", () => {
  it("packs element 2i in the low nibble and 2i+1 in the high nibble, zero points two blocks per byte", () => {
    // One row, K = 32, values chosen so min = -1, max = 0.875 → scale 0.125, zero point 8.
    const k = 32;
    const weight = Float32Array.from({ length: k }, (_, i) => (i % 16) * 0.125 - 1);
    const q = quantizeInt4(weight, 1, k, 32);
    expect(q.blocks).toBe(1);
    expect(q.scales[0]).toBeCloseTo(0.125, 7);
    expect(q.zeroPoints[0]! & 0x0f).toBe(8);
    // weight[0] = -1 → q 0 (low nibble), weight[1] = -0.875 → q 1 (high nibble).
    expect(q.packed[0]).toBe(0x10);
    expect(Array.from(dequantizeInt4(q))).toEqual(Array.from(weight));
  });

  it("reconstructs any weight within half a step of its block, keeps 0 exact, pads K with the zero point", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 80 }),
        fc.constantFrom(16, 32),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (n, k, blockSize, seed) => {
          let s = seed;
          const weight = Float32Array.from({ length: n * k }, () => {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            return s % 7 === 0 ? 0 : (s / 2 ** 32 - 0.5) * 3;
          });
          const q = quantizeInt4(weight, n, k, blockSize);
          const back = dequantizeInt4(q);
          for (let r = 0; r < n; r++) {
            for (let c = 0; c < k; c++) {
              const scale = q.scales[r * q.blocks + Math.floor(c / blockSize)]!;
              const original = weight[r * k + c]!;
              if (Math.abs(back[r * k + c]! - original) > scale / 2 + 1e-6) return false;
              if (original === 0 && back[r * k + c] !== 0) return false;
            }
          }
          return q.packed.length === n * q.blocks * (blockSize / 2);
        },
      ),
      { numRuns: 200 },
    );
  });
});
