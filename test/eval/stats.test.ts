import { describe, expect, it } from "vitest";
import { formatDifference } from "../../src/eval/report.js";
import {
  mcnemarExact,
  pairedDifference,
  pairedTable,
  proportion,
  summary,
  unpairedDifference,
  wilson,
} from "../../src/eval/stats.js";

describe("eval statistics", () => {
  it("Wilson intervals match the textbook values, including 0/n and n/n", () => {
    // 7/10: (0.3968, 0.8922), as in Newcombe (1998a) Table I and every Wilson calculator.
    const seven = wilson(7, 10);
    expect(seven?.low).toBeCloseTo(0.396778, 5);
    expect(seven?.high).toBeCloseTo(0.892209, 5);
    expect(wilson(0, 10)?.low).toBe(0);
    expect(wilson(0, 10)?.high).toBeCloseTo(0.277533, 5);
    expect(wilson(10, 10)?.low).toBeCloseTo(0.722467, 5);
    expect(wilson(10, 10)?.high).toBeCloseTo(1, 10);
    expect(wilson(0, 0)).toBeNull();
    expect(proportion(3, 4).value).toBe(0.75);
  });

  it("the paired loop − direct interval agrees with a hand computation (Newcombe method 10)", () => {
    // Pairs (loop, direct): both right a = 10, loop only b = 6, direct only c = 2, both wrong d = 2; n = 20.
    const table = pairedTable([
      ...Array.from({ length: 10 }, () => [true, true] as const),
      ...Array.from({ length: 6 }, () => [true, false] as const),
      ...Array.from({ length: 2 }, () => [false, true] as const),
      ...Array.from({ length: 2 }, () => [false, false] as const),
    ]);
    expect(table).toEqual({ a: 10, b: 6, c: 2, d: 2 });
    // By hand: p1 = 16/20 = 0.8, p2 = 12/20 = 0.6, D = 0.2.
    // Wilson(16, 20) = (0.583983, 0.919342); Wilson(12, 20) = (0.386582, 0.781193).
    // phi = (ad − bc) / sqrt((a+b)(c+d)(a+c)(b+d)) = (20 − 12) / sqrt(16·4·12·8) = 8 / 78.384 = 0.102062.
    // L = D − sqrt((p1−l1)² − 2·phi·(p1−l1)(u2−p2) + (u2−p2)²)
    //   = 0.2 − sqrt(0.216017² − 2·0.102062·0.216017·0.181193 + 0.181193²) = 0.2 − 0.267404 = −0.067404
    // U = D + sqrt((u1−p1)² − 2·phi·(u1−p1)(p2−l2) + (p2−l2)²)
    //   = 0.2 + sqrt(0.119342² − 2·0.102062·0.119342·0.213418 + 0.213418²) = 0.2 + 0.233647 = 0.433647
    const result = pairedDifference(table);
    expect(result.n).toBe(20);
    expect(result.difference).toBeCloseTo(0.2, 12);
    expect(result.interval?.low).toBeCloseTo(-0.067404, 5);
    expect(result.interval?.high).toBeCloseTo(0.433647, 5);
    // McNemar exact: 2 · P(X ≤ 2 | X ~ Bin(8, ½)) = 2 · (1 + 8 + 28) / 256 = 0.2890625.
    expect(result.mcnemarP).toBeCloseTo(0.2890625, 10);
    expect(result.method).toMatch(/Newcombe/);
  });

  it("paired edge cases: no pairs, no discordant pairs, all discordant one way", () => {
    expect(pairedDifference({ a: 0, b: 0, c: 0, d: 0 }).interval).toBeNull();
    const same = pairedDifference({ a: 5, b: 0, c: 0, d: 5 });
    expect(same.difference).toBe(0);
    expect(same.mcnemarP).toBe(1);
    // Perfectly concordant pairs give phi = 1, and the construction collapses to a zero-width interval.
    expect(same.interval?.low).toBeCloseTo(0, 12);
    expect(same.interval?.high).toBeCloseTo(0, 12);
    expect(formatDifference(same)).toMatch(/no discordant pairs, so no interval/);
    const mixed = pairedDifference({ a: 5, b: 1, c: 1, d: 5 });
    expect(formatDifference(mixed)).toMatch(/^\+0\.0 pts, 95% CI \[−/);
    expect(mixed.interval?.low).toBeLessThan(0);
    expect(mixed.interval?.high).toBeGreaterThan(0);
    const oneWay = pairedDifference({ a: 0, b: 10, c: 0, d: 0 });
    expect(oneWay.difference).toBe(1);
    expect(oneWay.interval?.high).toBe(1);
    expect(oneWay.interval?.low).toBeGreaterThan(0.5);
    expect(mcnemarExact(10, 0)).toBeCloseTo(2 / 1024, 12);
  });

  it("the unpaired difference is Newcombe's method 10 for independent proportions", () => {
    // 16/20 − 12/20 with phi = 0: L = 0.2 − hypot(0.216017, 0.181193), U = 0.2 + hypot(0.119342, 0.213418).
    const result = unpairedDifference(proportion(16, 20), proportion(12, 20));
    expect(result.interval?.low).toBeCloseTo(0.2 - Math.hypot(0.8 - 0.583983, 0.781193 - 0.6), 5);
    expect(result.interval?.high).toBeCloseTo(0.2 + Math.hypot(0.919342 - 0.8, 0.6 - 0.386582), 5);
  });

  it("summaries: mean, nearest-rank median and p90, total", () => {
    expect(summary([4, 1, 3, 2])).toEqual({ mean: 2.5, median: 2, p90: 4, total: 10 });
    expect(summary([])).toBeNull();
  });
});
