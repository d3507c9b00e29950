/**
 * The zoom's Pillow-exact bicubic (issue 10: the largest CPU cost of a small zoom under load): the vertical
 * pass in WebAssembly SIMD against the JavaScript pass, alternating, on the resizes the load bench's small
 * zooms do (a crop of 2–6 % of a 4140×2700 photo's sides enlarged to ~0.27 MP), and on its near-full zoom
 * (4058×2646 → 4064×2656, 32 MB out, run in bands of SIMD_BAND_BYTES; a tenth as many runs). CPU ms per
 * resize, median.
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
  ["4058×2646 → 4064×2656 (near-full)", { left: 41, top: 27, width: 4058, height: 2646 }, 4064, 2656],
];

const cpuMs = (work: () => void) => {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

console.log(`Pillow-exact bicubic, CPU ms per resize (median of ${RUNS} (near-full: a tenth), alternating)\n`);
console.log("| resize | JavaScript | WebAssembly SIMD vertical pass | ratio |");
console.log("|---|---:|---:|---:|");
for (const [name, region, width, height] of cases) {
  const js: number[] = [];
  const simd: number[] = [];
  const runs = width * height > 4_000_000 ? Math.max(3, Math.round(RUNS / 10)) : RUNS;
  for (let i = runs === RUNS ? -3 : -1; i < runs; i++) {
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
