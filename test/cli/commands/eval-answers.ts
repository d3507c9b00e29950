/**
 * Which of 20 items each mode gets right: items 0–9 both, 10–15 loop only, 16–17 direct only, 18–19 neither.
 * So loop 16/20, direct 12/20, and the paired table (a, b, c, d) = (10, 6, 2, 2) of test/eval/stats.test.ts.
 */
export const loopRight = (item: number) => item < 16;
export const directRight = (item: number) => item < 10 || item === 16 || item === 17;
