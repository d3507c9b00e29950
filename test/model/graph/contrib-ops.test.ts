import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { rowsInMemory } from "../../../src/model/checkpoint/checkpoint.js";
import { float32ArrayToBytes } from "../../../src/model/checkpoint/float-formats.js";
import { attr } from "../../../src/model/graph/graph-builder.js";
import { dequantizeInt4, quantizeInt4 } from "../../../src/model/graph/int4.js";
import { addLinear } from "../../../src/model/graph/linear.js";
import { f32, noise, runGraph, values } from "./run-graph.js";

/**
 * The ORT contrib ops (and opset-20 Gelu) the graphs rely on, checked numerically on the CPU EP against
 * formulas written out here, so a semantic surprise (axis, epsilon placement, nibble order) shows up in
 * isolation rather than as a parity failure of the whole model.
 */

const rows = 3;
const width = 8;
const x = noise(rows * width, 1);
const skip = noise(rows * width, 2);
const gamma = Float32Array.from(noise(width, 3), (v) => 1 + v / 2);

function rmsNormRef(input: ArrayLike<number>, weight: ArrayLike<number>, eps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < input.length / width; r++) {
    let ms = 0;
    for (let c = 0; c < width; c++) ms += input[r * width + c]! ** 2;
    const inv = 1 / Math.sqrt(ms / width + eps);
    for (let c = 0; c < width; c++) out.push(input[r * width + c]! * inv * weight[c]!);
  }
  return out;
}

/** Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(v: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(v));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(v) * (1 - poly * Math.exp(-v * v));
}

function expectClose(actual: number[], expected: number[], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  const worst = Math.max(...actual.map((a, i) => Math.abs(a - expected[i]!)));
  expect(worst).toBeLessThan(tolerance);
}

describe("ORT ops on the CPU EP", () => {
  it("SimplifiedLayerNormalization is RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · γ", async () => {
    const eps = 0.5; // large, so misplacing epsilon would show
    const out = await runGraph(
      (g) => {
        const input = g.input("x", "float32", [rows, width]);
        const y = g.node("SimplifiedLayerNormalization", [input, g.float32(gamma)], {
          axis: attr.int(-1),
          epsilon: attr.float(eps),
        });
        g.output("y", "float32", [rows, width], y);
      },
      { x: f32(x, [rows, width]) },
    );
    expectClose(values(out.y), rmsNormRef(x, gamma, eps), 1e-5);
  });

  it("SkipSimplifiedLayerNormalization (com.microsoft) normalises x + skip and returns the sum as output 3", async () => {
    const eps = 1e-6;
    const out = await runGraph(
      (g) => {
        const a = g.input("x", "float32", [rows, width]);
        const b = g.input("skip", "float32", [rows, width]);
        const [y, , , sum] = g.nodeMulti(
          "SkipSimplifiedLayerNormalization",
          [a, b, g.float32(gamma)],
          { epsilon: attr.float(eps) },
          { domain: "com.microsoft", outputs: 4 },
        );
        g.output("y", "float32", [rows, width], y!);
        g.output("sum", "float32", [rows, width], sum!);
      },
      { x: f32(x, [rows, width]), skip: f32(skip, [rows, width]) },
    );
    const sum = Array.from(x, (v, i) => v + skip[i]!);
    expectClose(values(out.sum), sum, 1e-6);
    expectClose(values(out.y), rmsNormRef(sum, gamma, eps), 1e-5);
  });

  it("Gelu-20 gives exact erf GELU by default and the tanh form with approximate='tanh'", async () => {
    const input = Float32Array.from([-3, -1.5, -0.5, 0, 0.5, 1, 2, 3.5]);
    const out = await runGraph(
      (g) => {
        const i = g.input("x", "float32", [8]);
        g.output("erf", "float32", [8], g.node("Gelu", [i]));
        g.output("tanh", "float32", [8], g.node("Gelu", [i], { approximate: attr.string("tanh") }));
      },
      { x: f32(input, [8]) },
    );
    const tanhRef = Array.from(
      input,
      (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    );
    expectClose(values(out.tanh), tanhRef, 1e-6);
    const erfRef = Array.from(input, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    expectClose(values(out.erf), erfRef, 1e-5);
    // The two forms differ by more than float noise at these points, so a swap is detectable.
    expect(Math.abs(values(out.erf)[1]! - values(out.tanh)[1]!)).toBeGreaterThan(1e-4);
  });

  // accuracy_level 0 computes in fp32 (exact to float noise); 4 quantizes the activations to int8, which the
  // parity suites bound separately; here it must still be close.
  it.each([
    [0, 1e-4],
    [4, 5e-2],
  ] as const)(
    "MatMulNBits (com.microsoft, 4 bits) computes x · dequant(W)ᵀ with our packing, K not a multiple of the block (accuracy_level %i)",
    async (level, tolerance) => {
      const n = 5;
      const k = 40; // two blocks of 32, the second padded
      const m = 3;
      const weight = noise(n * k, 4);
      const input = noise(m * k, 5);
      const bias = noise(n, 6);
      const out = await runGraph(
        async (g) => {
          const i = g.input("x", "float32", [m, k]);
          g.output(
            "y",
            "float32",
            [m, n],
            await addLinear(g, i, "w", rowsInMemory(weight, n, k), bias, "int4", 32, level),
          );
        },
        { x: f32(input, [m, k]) },
      );
      const dequant = dequantizeInt4(quantizeInt4(weight, n, k, 32));
      const expected: number[] = [];
      for (let r = 0; r < m; r++) {
        for (let c = 0; c < n; c++) {
          let acc = bias[c]!;
          for (let j = 0; j < k; j++) acc += input[r * k + j]! * dequant[c * k + j]!;
          expected.push(acc);
        }
      }
      expectClose(values(out.y), expected, tolerance);
    },
  );

  it("int8 linear (MatMulIntegerToFloat): x · Wᵀ within the int8 rounding of W per row and of x per row; one row's outlier leaves the others' precision alone", async () => {
    const n = 6;
    const k = 64;
    const m = 4;
    const weight = noise(n * k, 7);
    const input = noise(m * k, 8);
    input[0] = 1000; // an outlier in row 0 only: a per-tensor activation scale would round rows 1-3 to ~0
    const bias = noise(n, 9);
    const out = await runGraph(
      async (g) => {
        const i = g.input("x", "float32", [m, k]);
        g.output("y", "float32", [m, n], await addLinear(g, i, "w", rowsInMemory(weight, n, k), bias, "int8"));
      },
      { x: f32(input, [m, k]) },
    );
    const y = values(out.y);
    for (let r = 0; r < m; r++) {
      let xMax = 0;
      for (let j = 0; j < k; j++) xMax = Math.max(xMax, Math.abs(input[r * k + j]!));
      for (let c = 0; c < n; c++) {
        let wMax = 0;
        let exact = bias[c]!;
        let absSum = 0;
        for (let j = 0; j < k; j++) {
          wMax = Math.max(wMax, Math.abs(weight[c * k + j]!));
          exact += input[r * k + j]! * weight[c * k + j]!;
          absSum += Math.abs(input[r * k + j]!) * Math.abs(weight[c * k + j]!);
        }
        // Each factor is off by at most half a step (max/127/2): the product's error is bounded by
        // Σ|x||w| · (½/127 relative of each) plus the cross term, well under Σ|x||w| / 100.
        const bound = (xMax / 254) * wMax * k + (wMax / 254) * xMax * k;
        expect(Math.abs(y[r * n + c]! - exact)).toBeLessThanOrEqual(bound);
        if (r > 0) expect(Math.abs(y[r * n + c]! - exact)).toBeLessThan(absSum / 100);
      }
    }
  });

  it("GroupQueryAttention (com.microsoft): causal GQA over past + new keys, BNSH cache, seqlens_k = total − 1", async () => {
    // head_size must be a multiple of 8 on the CPU EP.
    const [nh, kvh, hd, past, s] = [4, 2, 8, 2, 3];
    const total = past + s;
    const q = noise(s * nh * hd, 21);
    const k = noise(s * kvh * hd, 22);
    const v = noise(s * kvh * hd, 23);
    const pastK = noise(kvh * past * hd, 24);
    const pastV = noise(kvh * past * hd, 25);
    const out = await runGraph(
      (g) => {
        const inputs = [
          g.input("q", "float32", [1, s, nh * hd]),
          g.input("k", "float32", [1, s, kvh * hd]),
          g.input("v", "float32", [1, s, kvh * hd]),
          g.input("pk", "float32", [1, kvh, "P", hd]),
          g.input("pv", "float32", [1, kvh, "P", hd]),
          g.input("seqlens_k", "int32", [1]),
          g.input("total", "int32", []),
        ];
        const [o, pk, pv] = g.nodeMulti(
          "GroupQueryAttention",
          inputs,
          { num_heads: attr.int(nh), kv_num_heads: attr.int(kvh), scale: attr.float(hd ** -0.5) },
          { domain: "com.microsoft", outputs: 3 },
        );
        g.output("o", "float32", [1, s, nh * hd], o!);
        g.output("present_k", "float32", [1, kvh, "T", hd], pk!);
        g.output("present_v", "float32", [1, kvh, "T", hd], pv!);
      },
      {
        q: f32(q, [1, s, nh * hd]),
        k: f32(k, [1, s, kvh * hd]),
        v: f32(v, [1, s, kvh * hd]),
        pk: f32(pastK, [1, kvh, past, hd]),
        pv: f32(pastV, [1, kvh, past, hd]),
        seqlens_k: new ort.Tensor("int32", Int32Array.from([total - 1]), [1]),
        total: new ort.Tensor("int32", Int32Array.from([total]), []),
      },
    );
    // Reference: keys/values per KV head = past rows then the new rows; query head h uses KV head h / (nh/kvh).
    const keyAt = (j: number, t: number, d: number) =>
      t < past ? pastK[(j * past + t) * hd + d]! : k[((t - past) * kvh + j) * hd + d]!;
    const valueAt = (j: number, t: number, d: number) =>
      t < past ? pastV[(j * past + t) * hd + d]! : v[((t - past) * kvh + j) * hd + d]!;
    const expected: number[] = [];
    for (let i = 0; i < s; i++) {
      for (let h = 0; h < nh; h++) {
        const j = Math.floor(h / (nh / kvh));
        const scores: number[] = [];
        for (let t = 0; t <= past + i; t++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[(i * nh + h) * hd + d]! * keyAt(j, t, d);
          scores.push(dot * hd ** -0.5);
        }
        const max = Math.max(...scores);
        const weights = scores.map((x) => Math.exp(x - max));
        const sum = weights.reduce((a, b) => a + b, 0);
        for (let d = 0; d < hd; d++)
          expected.push(weights.reduce((acc, w, t) => acc + (w / sum) * valueAt(j, t, d), 0));
      }
    }
    expectClose(values(out.o), expected, 1e-5);
    const presentK: number[] = [];
    for (let j = 0; j < kvh; j++)
      for (let t = 0; t < total; t++) for (let d = 0; d < hd; d++) presentK.push(keyAt(j, t, d));
    expect(values(out.present_k)).toEqual(presentK.map(Math.fround));
  });

  it("RotaryEmbedding (com.microsoft) with position offset 0 rotates token s by row s of a per-token cache", async () => {
    // The vision encoder's 2-D rotary: one cache row per patch (its own angles), halves rotated (not interleaved).
    const [s, nh, hd] = [5, 2, 8];
    const input = noise(s * nh * hd, 31);
    const angles = Float32Array.from(noise(s * (hd / 2), 32), (v) => v * 3);
    const out = await runGraph(
      (g) => {
        const x = g.input("x", "float32", [1, s, nh * hd]);
        const a = g.input("angles", "float32", [s, hd / 2]);
        const y = g.node(
          "RotaryEmbedding",
          [x, g.int64([0]), g.node("Cos", [a]), g.node("Sin", [a])],
          { interleaved: attr.int(0) },
          { domain: "com.microsoft" },
        );
        g.output("y", "float32", [1, s, nh * hd], y);
      },
      { x: f32(input, [1, s, nh * hd]), angles: f32(angles, [s, hd / 2]) },
    );
    const expected: number[] = [];
    for (let t = 0; t < s; t++) {
      for (let h = 0; h < nh; h++) {
        const at = (d: number) => input[(t * nh + h) * hd + d]!;
        const rotated: number[] = new Array(hd);
        for (let i = 0; i < hd / 2; i++) {
          const [c, sn] = [Math.cos(angles[t * (hd / 2) + i]!), Math.sin(angles[t * (hd / 2) + i]!)];
          rotated[i] = at(i) * c - at(i + hd / 2) * sn;
          rotated[i + hd / 2] = at(i + hd / 2) * c + at(i) * sn;
        }
        expected.push(...rotated);
      }
    }
    expectClose(values(out.y), expected, 1e-5);
  });

  it("MultiHeadAttention (com.microsoft) is unmasked softmax attention per head over [B, S, heads·hd]", async () => {
    const [s, nh, hd] = [7, 2, 8];
    const q = noise(s * nh * hd, 41);
    const k = noise(s * nh * hd, 42);
    const v = noise(s * nh * hd, 43);
    const scale = 0.3; // not 1/√hd, so a default scale would show
    const shape = [1, s, nh * hd];
    const out = await runGraph(
      (g) => {
        const inputs = ["q", "k", "v"].map((name) => g.input(name, "float32", shape));
        const o = g.node(
          "MultiHeadAttention",
          inputs,
          { num_heads: attr.int(nh), scale: attr.float(scale) },
          { domain: "com.microsoft" },
        );
        g.output("o", "float32", shape, o);
      },
      { q: f32(q, shape), k: f32(k, shape), v: f32(v, shape) },
    );
    const expected: number[] = [];
    for (let i = 0; i < s; i++) {
      for (let h = 0; h < nh; h++) {
        const scores: number[] = [];
        for (let t = 0; t < s; t++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[(i * nh + h) * hd + d]! * k[(t * nh + h) * hd + d]!;
          scores.push(dot * scale);
        }
        const max = Math.max(...scores);
        const weights = scores.map((x) => Math.exp(x - max));
        const sum = weights.reduce((a, b) => a + b, 0);
        for (let d = 0; d < hd; d++) {
          expected.push(weights.reduce((acc, w, t) => acc + (w / sum) * v[(t * nh + h) * hd + d]!, 0));
        }
      }
    }
    expectClose(values(out.o), expected, 1e-5);
  });

  it("Gemm with transB takes a Linear's [out, in] weight as stored", async () => {
    const weight = noise(6, 7);
    const out = await runGraph(
      (g) => {
        const i = g.input("x", "float32", [1, 3]);
        const w = g.weight("w", "float32", [2, 3], float32ArrayToBytes(weight));
        g.output("y", "float32", [1, 2], g.node("Gemm", [i, w], { transB: attr.int(1) }));
      },
      { x: f32([1, 2, 3], [1, 3]) },
    );
    const expected = [0, 1].map((r) => weight[r * 3]! + 2 * weight[r * 3 + 1]! + 3 * weight[r * 3 + 2]!);
    expectClose(values(out.y), expected, 1e-6);
  });
});
