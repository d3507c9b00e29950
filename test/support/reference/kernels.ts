/**
 * Float64 building blocks of the reference forward pass. Everything is row-major: a matrix of `rows` rows
 * and `cols` columns is a Float64Array of rows·cols. Written for clarity, not speed: the shapes it runs on
 * are tiny.
 */

/** `y = x · Wᵀ + b` for x [n, in], W [out, in] (PyTorch Linear layout), b [out] or none. */
export function linear(
  x: Float64Array,
  n: number,
  w: Float64Array,
  outDim: number,
  inDim: number,
  bias?: Float64Array,
) {
  if (x.length !== n * inDim) throw new Error(`linear: input has ${x.length} values, expected ${n}×${inDim}`);
  if (w.length !== outDim * inDim)
    throw new Error(`linear: weight has ${w.length} values, expected ${outDim}×${inDim}`);
  const y = new Float64Array(n * outDim);
  for (let r = 0; r < n; r++) {
    const xo = r * inDim;
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim;
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[xo + i] * w[wo + i];
      y[r * outDim + o] = s;
    }
  }
  return y;
}

/** LayerNorm over the last axis of x [n, dim], biased variance (as torch). */
export function layerNorm(x: Float64Array, dim: number, weight: Float64Array, bias: Float64Array, eps: number) {
  const n = x.length / dim;
  const y = new Float64Array(x.length);
  for (let r = 0; r < n; r++) {
    const o = r * dim;
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[o + i];
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += (x[o + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = (x[o + i] - mean) * inv * weight[i] + bias[i];
  }
  return y;
}

/** RMSNorm over the last axis: x · rsqrt(mean(x²) + eps) · w (Qwen3 norm, no bias). */
export function rmsNorm(x: Float64Array, dim: number, weight: Float64Array, eps: number) {
  const n = x.length / dim;
  const y = new Float64Array(x.length);
  for (let r = 0; r < n; r++) {
    const o = r * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = x[o + i] * inv * weight[i];
  }
  return y;
}

/**
 * erf to ~1e-15: Maclaurin series where it converges quickly, Lentz continued fraction for erfc beyond.
 * JavaScript has no Math.erf, and a 1e-7 approximation would blur the parity bound we test against.
 */
export function erf(x: number): number {
  if (x < 0) return -erf(-x);
  if (x < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  return 1 - erfcLarge(x);
}

/** erfc(x) for x ≥ 2.5: erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))). */
function erfcLarge(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 300; k++) {
    const a = k / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** nn.GELU(): exact, erf-based (the mergers' activation). */
export function geluErf(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** gelu_pytorch_tanh (the ViT MLP's activation). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

export function mapInPlace(x: Float64Array, f: (v: number) => number): Float64Array {
  for (let i = 0; i < x.length; i++) x[i] = f(x[i]);
  return x;
}

export function addInPlace(into: Float64Array, other: Float64Array): Float64Array {
  if (into.length !== other.length) throw new Error(`add: ${into.length} vs ${other.length} values`);
  for (let i = 0; i < into.length; i++) into[i] += other[i];
  return into;
}

/** Softmax of a plain array, max-subtracted. */
export function softmax(scores: Float64Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const s of scores) if (s > max) max = s;
  const out = new Float64Array(scores.length);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    out[i] = Math.exp(scores[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/**
 * `x·cos + rotate_half(x)·sin` on one head vector of even length d, where rotate_half(x) = cat(-x[d/2:], x[:d/2]).
 * cos/sin are the full-length (already `cat(f, f)`-duplicated) tables for this position.
 */
export function rotateHalfRope(x: Float64Array, offset: number, d: number, cos: Float64Array, sin: Float64Array) {
  const half = d / 2;
  const out = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    const rotated = i < half ? -x[offset + i + half] : x[offset + i - half];
    out[i] = x[offset + i] * cos[i] + rotated * sin[i];
  }
  for (let i = 0; i < d; i++) x[offset + i] = out[i];
}

/** The largest |v| in an array (the scale parity bounds are stated against). */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/** The largest |a − b| over two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: ${a.length} vs ${b.length} values`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
