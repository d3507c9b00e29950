/**
 * What the engine benchmarks feed and how they summarise: the same deterministic prompt in every bench (so
 * Squint and llama.cpp see identical token ids), and the median they report.
 */

/** Deterministic ids in the ordinary text range (1000–100 999) of Qwen's vocabulary. */
export function promptIds(length: number): number[] {
  let state = 12345;
  return Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return 1000 + (state % 100_000);
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
