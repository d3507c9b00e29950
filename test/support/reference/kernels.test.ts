import { describe, expect, it } from "vitest";
import { erf, geluErf, geluTanh, layerNorm, linear, rmsNorm, rotateHalfRope, softmax } from "./kernels.js";

// Expected values are Python's math.erf / the closed forms, evaluated in float64.
describe("reference kernels", () => {
  it("erf matches math.erf on both branches to 1e-14", () => {
    const cases: [number, number][] = [
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [-1.5, -0.9661051464753108],
      [4.5, 0.9999999998033839],
    ];
    for (const [x, want] of cases) expect(Math.abs(erf(x) - want)).toBeLessThan(1e-14);
  });

  it("the two GELUs are the erf form and the tanh form, and differ", () => {
    expect(geluErf(1)).toBeCloseTo(0.8413447460685429, 14);
    expect(geluTanh(1)).toBeCloseTo(0.8411919906082768, 14);
    expect(geluTanh(-2)).toBeCloseTo(-0.04540230591222494, 14);
    expect(geluErf(-2)).toBeCloseTo(-0.04550026389635842, 14);
  });

  it("linear uses the PyTorch [out, in] weight layout plus bias", () => {
    // x = [[1, 2]], W = [[1, 0], [0, 1], [1, 1]], b = [0, 10, 100] -> [1, 12, 103]
    const y = linear(Float64Array.of(1, 2), 1, Float64Array.of(1, 0, 0, 1, 1, 1), 3, 2, Float64Array.of(0, 10, 100));
    expect(Array.from(y)).toEqual([1, 12, 103]);
  });

  it("layerNorm uses the biased variance, then scale and shift", () => {
    // mean 2.5, var 1.25 -> (x - 2.5)/sqrt(1.25) ·2 + 1
    const y = layerNorm(Float64Array.of(1, 2, 3, 4), 4, Float64Array.of(2, 2, 2, 2), Float64Array.of(1, 1, 1, 1), 0);
    const s = Math.sqrt(1.25);
    expect(Array.from(y)).toEqual([(-1.5 / s) * 2 + 1, (-0.5 / s) * 2 + 1, (0.5 / s) * 2 + 1, (1.5 / s) * 2 + 1]);
  });

  it("rmsNorm divides by the root mean square (no centring)", () => {
    const y = rmsNorm(Float64Array.of(3, 4, 0, 1), 4, Float64Array.of(1, 1, 1, 2), 0);
    const rms = Math.sqrt(26 / 4);
    for (const [i, want] of [3 / rms, 4 / rms, 0, 2 / rms].entries()) expect(y[i]).toBeCloseTo(want, 15);
  });

  it("rotate_half RoPE pairs element i with i + d/2", () => {
    // d = 4, theta 10000: inv_freq = [1, 1/100]; position 1 -> angles [1, 0.01], duplicated.
    const angles = [1, 0.01, 1, 0.01];
    const cos = Float64Array.from(angles, Math.cos);
    const sin = Float64Array.from(angles, Math.sin);
    const q = Float64Array.of(1, 0, 0, 0);
    rotateHalfRope(q, 0, 4, cos, sin);
    // x·cos + [-x2, -x3, x0, x1]·sin = [cos 1, 0, sin 1, 0]
    expect(q[0]).toBeCloseTo(Math.cos(1), 15);
    expect(q[1]).toBe(0);
    expect(q[2]).toBeCloseTo(Math.sin(1), 15);
    expect(q[3]).toBe(0);
  });

  it("softmax is shift-safe", () => {
    const p = softmax(Float64Array.of(1000, 1000 + Math.log(3)));
    expect(p[0]).toBeCloseTo(0.25, 12);
    expect(p[1]).toBeCloseTo(0.75, 12);
  });
});
