/**
 * Per-row symmetric 8-bit quantization for com.microsoft MatMulIntegerToFloat (linear.ts): each row of a
 * Linear's [N, K] weight gets one scale, max|w| / 127, and values round(w / scale) in [−127, 127] (zero point
 * 0). Dequantized value = q · scale. Rows are independent, so row slices quantize on their own.
 */

export interface Int8Rows {
  n: number;
  k: number;
  /** [N, K], row-major, as the weight came. */
  values: Int8Array;
  /** [N]. */
  scales: Float32Array;
}

export function quantizeInt8Rows(weight: Float32Array, n: number, k: number): Int8Rows {
  const values = new Int8Array(n * k);
  const scales = new Float32Array(n);
  for (let row = 0; row < n; row++) {
    const base = row * k;
    let max = 0;
    for (let c = 0; c < k; c++) max = Math.max(max, Math.abs(weight[base + c]!));
    const scale = Math.fround(max / 127);
    scales[row] = scale;
    const inv = scale === 0 ? 0 : 1 / scale;
    for (let c = 0; c < k; c++) values[base + c] = Math.round(weight[base + c]! * inv);
  }
  return { n, k, values, scales };
}

export function dequantizeInt8Rows(q: Int8Rows): Float32Array {
  const out = new Float32Array(q.n * q.k);
  for (let row = 0; row < q.n; row++) {
    const scale = q.scales[row]!;
    for (let c = 0; c < q.k; c++) out[row * q.k + c] = q.values[row * q.k + c]! * scale;
  }
  return out;
}
