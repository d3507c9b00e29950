/**
 * The interval arithmetic behind every accuracy and difference in a report, all at 95%.
 *
 * - Accuracy: the Wilson score interval (Wilson 1927), which stays inside [0, 1] and behaves at 0/n and n/n,
 *   unlike the normal approximation.
 * - Loop vs direct on the same items (paired): Newcombe's hybrid score interval for a difference of paired
 *   proportions, his method 10 (Newcombe 1998, Statistics in Medicine 17:2635), built from the two Wilson
 *   intervals and the phi correlation of the 2×2 table; plus McNemar's exact test (a two-sided binomial
 *   test on the discordant pairs) as a p-value. With no discordant pairs at all the construction collapses to
 *   [0, 0] (phi = 1): the discordant counts printed beside it say so.
 * - Two reports on different items (unpaired): Newcombe's method 10 for independent proportions (Newcombe
 *   1998, Statistics in Medicine 17:873), the same construction with phi = 0.
 */

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

export interface Proportion {
  k: number;
  n: number;
  /** k / n, or null when n = 0. */
  value: number | null;
  /** 95% Wilson interval, or null when n = 0. */
  interval: Interval | null;
}

export function wilson(k: number, n: number, z = Z95): Interval | null {
  if (n === 0) return null;
  const p = k / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export function proportion(k: number, n: number): Proportion {
  return { k, n, value: n === 0 ? null : k / n, interval: wilson(k, n) };
}

/** The 2×2 table of paired outcomes: a = both right, b = first only, c = second only, d = both wrong. */
export interface PairedTable {
  a: number;
  b: number;
  c: number;
  d: number;
}

export interface PairedDifference {
  table: PairedTable;
  n: number;
  /** Accuracy of the first minus the second, over the pairs. */
  difference: number | null;
  interval: Interval | null;
  /** McNemar exact two-sided p-value (1 when there are no discordant pairs). */
  mcnemarP: number | null;
  method: string;
}

export const PAIRED_METHOD =
  "Newcombe hybrid score interval for paired proportions (method 10, 1998); McNemar exact test for p";
export const UNPAIRED_METHOD = "Newcombe hybrid score interval for independent proportions (method 10, 1998)";

export function pairedTable(pairs: ReadonlyArray<readonly [boolean, boolean]>): PairedTable {
  const table = { a: 0, b: 0, c: 0, d: 0 };
  for (const [first, second] of pairs) {
    if (first && second) table.a++;
    else if (first) table.b++;
    else if (second) table.c++;
    else table.d++;
  }
  return table;
}

export function pairedDifference(table: PairedTable): PairedDifference {
  const { a, b, c, d } = table;
  const n = a + b + c + d;
  if (n === 0) return { table, n, difference: null, interval: null, mcnemarP: null, method: PAIRED_METHOD };
  const p1 = (a + b) / n;
  const p2 = (a + c) / n;
  const w1 = wilson(a + b, n) as Interval;
  const w2 = wilson(a + c, n) as Interval;
  const product = (a + b) * (c + d) * (a + c) * (b + d);
  const phi = product === 0 ? 0 : (a * d - b * c) / Math.sqrt(product);
  const difference = p1 - p2;
  const dl1 = p1 - w1.low;
  const du1 = w1.high - p1;
  const dl2 = p2 - w2.low;
  const du2 = w2.high - p2;
  const low = difference - Math.sqrt(Math.max(0, dl1 * dl1 - 2 * phi * dl1 * du2 + du2 * du2));
  const high = difference + Math.sqrt(Math.max(0, du1 * du1 - 2 * phi * du1 * dl2 + dl2 * dl2));
  return {
    table,
    n,
    difference,
    interval: { low: Math.max(-1, low), high: Math.min(1, high) },
    mcnemarP: mcnemarExact(b, c),
    method: PAIRED_METHOD,
  };
}

/** Two-sided exact McNemar: twice the smaller binomial(b + c, ½) tail, capped at 1. */
export function mcnemarExact(b: number, c: number): number {
  const m = b + c;
  if (m === 0) return 1;
  const k = Math.min(b, c);
  // Sum C(m, i) / 2^m for i ≤ k in log space (m can be thousands).
  let logChoose = 0;
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logChoose += Math.log((m - i + 1) / i);
    tail += Math.exp(logChoose - m * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

export interface UnpairedDifference {
  difference: number | null;
  interval: Interval | null;
  method: string;
}

export function unpairedDifference(first: Proportion, second: Proportion): UnpairedDifference {
  if (first.n === 0 || second.n === 0 || !first.interval || !second.interval) {
    return { difference: null, interval: null, method: UNPAIRED_METHOD };
  }
  const p1 = first.k / first.n;
  const p2 = second.k / second.n;
  const difference = p1 - p2;
  const low = difference - Math.hypot(p1 - first.interval.low, second.interval.high - p2);
  const high = difference + Math.hypot(first.interval.high - p1, p2 - second.interval.low);
  return { difference, interval: { low: Math.max(-1, low), high: Math.min(1, high) }, method: UNPAIRED_METHOD };
}

/** Mean, median and 90th percentile of a list (null when empty). */
export function summary(
  values: readonly number[],
): { mean: number; median: number; p90: number; total: number } | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
  const total = values.reduce((sum, value) => sum + value, 0);
  return { mean: total / values.length, median: at(0.5), p90: at(0.9), total };
}
