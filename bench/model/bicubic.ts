/**
 * The zoom's Pillow-exact bicubic (issue 10: the largest CPU cost of a small zoom under load): the vertical
 * pass in WebAssembly SIMD against the JavaScript pass, alternating, on the resizes the load bench's small
 * zooms do (a crop of 2–6 % of a 4140×2700 photo's sides enlarged to ~0.27 MP). Larger outputs (over
 * SIMD_MAX_BYTES) keep to JavaScript. CPU ms per resize, median.
 *
 *   node --import tsx bench/model/bicubic.ts [--runs 60]
 */
import { resizeRegionBicubicSync } from "../../src/model/bicubic.js";
import { setSimdEnabled } from "../../src/model/bicubic-simd.js";

const at = process.argv.indexOf("--runs");
const RUNS = at === -1 ? 60 : Number(process.argv[at + 1]);
const W = 4140;
const H = 2700;
const data = new Uint8Array(W * H * 3);
for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) >>> 24) ^ (i >> 9);
const image = { width: W, height: H, data };

const cases: Array<[string, { left: number; top: number; width: number; height: number }, number, number]> = [
  ["83×54 → 704×448", { left: 1000, top: 800, width: 83, height: 54 }, 704, 448],
  ["166×108 → 640×416", { left: 1000, top: 800, width: 166, height: 108 }, 640, 416],
  ["249×162 → 640×416", { left: 1000, top: 800, width: 249, height: 162 }, 640, 416],
];

const cpuMs = (work: () => void) => {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

console.log(`Pillow-exact bicubic, CPU ms per resize (median of ${RUNS}, alternating)\n`);
console.log("| resize | JavaScript | WebAssembly SIMD vertical pass | ratio |");
console.log("|---|---:|---:|---:|");
for (const [name, region, width, height] of cases) {
  const js: number[] = [];
  const simd: number[] = [];
  for (let i = -3; i < RUNS; i++) {
    setSimdEnabled(false);
    const a = cpuMs(() => resizeRegionBicubicSync(image, region, width, height));
    setSimdEnabled(true);
    const b = cpuMs(() => resizeRegionBicubicSync(image, region, width, height));
    if (i < 0) continue;
    js.push(a);
    simd.push(b);
  }
  console.log(
    `| ${name} | ${median(js).toFixed(2)} | ${median(simd).toFixed(2)} | ${(median(js) / median(simd)).toFixed(2)}× |`,
  );
}
