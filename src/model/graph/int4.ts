/**
 * Block-wise 4-bit quantization in the layout of ONNX Runtime's com.microsoft MatMulNBits (bits = 4):
 * the weight is [N, K] (a Linear's own [out, in] layout), quantized along K in blocks of `blockSize`;
 * B is uint8 [N, nBlocks, blockSize/2] with element 2i in the low nibble and 2i+1 in the high nibble;
 * scales are [N·nBlocks]; zero points are uint8 [N·ceil(nBlocks/2)], two blocks per byte, low nibble first.
 * Dequantized value = (q − zero_point) · scale. Asymmetric (min/max) quantization per block.
 */

export interface Int4Weight {
  n: number;
  k: number;
  blockSize: number;
  blocks: number;
  packed: Uint8Array;
  scales: Float32Array;
  zeroPoints: Uint8Array;
}

export function quantizeInt4(weight: Float32Array, n: number, k: number, blockSize: number): Int4Weight {
  const blocks = Math.ceil(k / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  const zpBytes = Math.ceil(blocks / 2);
  const zeroPoints = new Uint8Array(n * zpBytes);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < blocks; b++) {
      const start = b * blockSize;
      const end = Math.min(start + blockSize, k);
      let min = 0;
      let max = 0;
      for (let c = start; c < end; c++) {
        const v = weight[row * k + c]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      // The range always contains 0 so that zero stays exactly representable.
      const scale = max > min ? (max - min) / 15 : 1;
      const zp = Math.min(15, Math.max(0, Math.round(-min / scale)));
      scales[row * blocks + b] = scale;
      const zpIndex = row * zpBytes + (b >> 1);
      zeroPoints[zpIndex] = b % 2 === 0 ? zp : zeroPoints[zpIndex]! | (zp << 4);
      for (let c = start; c < end; c++) {
        const q = Math.min(15, Math.max(0, Math.round(weight[row * k + c]! / scale) + zp));
        const i = c - start;
        const byte = (row * blocks + b) * blob + (i >> 1);
        packed[byte] = i % 2 === 0 ? q : packed[byte]! | (q << 4);
      }
      // Padding past K quantizes to the zero point (contributes 0).
      for (let i = end - start; i < blockSize; i++) {
        const byte = (row * blocks + b) * blob + (i >> 1);
        packed[byte] = i % 2 === 0 ? zp : packed[byte]! | (zp << 4);
      }
    }
  }
  return { n, k, blockSize, blocks, packed, scales, zeroPoints };
}

/** The float weights MatMulNBits computes with; for tests and error estimates. */
export function dequantizeInt4(w: Int4Weight): Float32Array {
  const out = new Float32Array(w.n * w.k);
  const blob = w.blockSize / 2;
  const zpBytes = Math.ceil(w.blocks / 2);
  for (let row = 0; row < w.n; row++) {
    for (let c = 0; c < w.k; c++) {
      const b = Math.floor(c / w.blockSize);
      const i = c % w.blockSize;
      const byte = w.packed[(row * w.blocks + b) * blob + (i >> 1)]!;
      const q = i % 2 === 0 ? byte & 0x0f : byte >> 4;
      const zpByte = w.zeroPoints[row * zpBytes + (b >> 1)]!;
      const zp = b % 2 === 0 ? zpByte & 0x0f : zpByte >> 4;
      out[row * w.k + c] = (q - zp) * w.scales[row * w.blocks + b]!;
    }
  }
  return out;
}
