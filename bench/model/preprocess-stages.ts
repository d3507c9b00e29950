/**
 * Where preprocessing time goes, per image (medians of BENCH_REPEATS): the header read, the decode (whole, and
 * straight to the target size in one libvips pass), the Pillow-exact resize of the whole decode, the
 * normalise + patchify pass, and how much of that pass is first touching its fresh output buffer (the same
 * bytes written into an equally sized new Float32Array), which dominates at 16 MP.
 *
 *   node --expose-gc --import tsx bench/model/preprocess-stages.ts        BENCH_REPEATS=3 BENCH_DATA=dir
 */
import sharp from "sharp";
import { DEFAULT_PREPROCESSOR_CONFIG } from "../../src/model/config.js";
import { decodeImage, readImageSize } from "../../src/model/image-decode.js";
import { patchifyFrames, resizeBicubicSync, smartResize } from "../../src/model/vision.js";
import { benchImages } from "./_images.js";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
// libvips caches loads by file name; every repeat must decode.
sharp.cache(false);

async function medianMs(work: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    global.gc?.();
    const t0 = performance.now();
    await work();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

const rows: string[] = [];
for (const image of await benchImages()) {
  const source = await readImageSize(image.file);
  const size = smartResize(source.height, source.width, {
    factor: 32,
    minPixels: 65536,
    maxPixels: image.maxPixels,
  });
  const full = await decodeImage(image.file);
  const shrinks = size.width < source.width || size.height < source.height;
  const resized = shrinks ? await decodeImage(image.file, { shrinkTo: size }) : full;
  const header = await medianMs(() => readImageSize(image.file));
  const decodeFull = await medianMs(() => decodeImage(image.file));
  const decodeShrunk = shrinks ? await medianMs(() => decodeImage(image.file, { shrinkTo: size })) : Number.NaN;
  const exactResize = shrinks ? await medianMs(() => resizeBicubicSync(full, size.width, size.height)) : Number.NaN;
  const frames = [resized.data, resized.data];
  const patchify = await medianMs(() => patchifyFrames(frames, size.width, size.height, DEFAULT_PREPROCESSOR_CONFIG));
  const values = size.width * size.height * 3 * 2;
  const firstTouch = await medianMs(() => new Float32Array(values).fill(1));
  const f = (ms: number) => (Number.isNaN(ms) ? "–" : ms.toFixed(1));
  rows.push(
    `| ${image.name} | ${source.width}×${source.height} → ${size.width}×${size.height} | ${f(header)} | ${f(decodeFull)} | ${f(decodeShrunk)} | ${f(exactResize)} | ${f(patchify)} | ${f(firstTouch)} | ${f(header + (shrinks ? decodeShrunk : decodeFull) + patchify)} |`,
  );
  console.error(rows.at(-1));
}
console.log(`Preprocessing stages, median ms of ${REPEATS} (one thread of JS; libvips on its own threads)`);
console.log("");
console.log(
  "| image | size | header | decode whole | decode to size (one pass) | Pillow-exact resize of the whole decode | normalise + patchify | a fresh Float32Array of the output size, filled (first-touch cost) | header + decode to size + patchify |",
);
console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|");
console.log(rows.join("\n"));
