/**
 * Why decodeImage's shrinkTo decodes at full scale: mean |Δ| (0..1 pixel units) from a whole decode followed
 * by Pillow's bicubic (the Python processor's pixels), for libvips' cubic shrink after a full-scale decode
 * (what Squint does) and with sharp's shrink-on-load (libjpeg's 1/2–1/8 DCT scaling, libwebp's scaler), with
 * the time of each. On a rendered page of small text, where a photo hides the difference, and on the photos.
 *
 *   node --import tsx bench/model/preprocess-fidelity.ts        BENCH_DATA=dir
 */
import sharp from "sharp";
import { decodeImage } from "../../src/model/image-decode.js";
import { resizeBicubicSync } from "../../src/model/vision.js";
import { benchImages } from "./_images.js";

sharp.cache(false);

function meanAbsDelta(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length / 255;
}

async function shrinkOnLoad(bytes: Buffer, width: number, height: number): Promise<Uint8Array> {
  return sharp(bytes)
    .toColourspace("srgb")
    .removeAlpha()
    .resize(width, height, { kernel: "cubic", fit: "fill", fastShrinkOnLoad: true })
    .raw()
    .toBuffer();
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await work();
  return { ms: performance.now() - t0, value };
}

const text = "the quick brown fox jumps over a lazy dog while Squint reads every sign 0123456789 ".repeat(40);
const page = await sharp({ text: { text, width: 1240, dpi: 110, wrap: "word" } })
  .negate()
  .flatten()
  .toColourspace("srgb")
  .png()
  .toBuffer();
const sources: { name: string; bytes: Buffer; factors: number[] }[] = [
  { name: "text page JPEG q90", bytes: await sharp(page).jpeg({ quality: 90 }).toBuffer(), factors: [2, 3, 4] },
  { name: "text page WebP q90", bytes: await sharp(page).webp({ quality: 90 }).toBuffer(), factors: [2, 3, 4] },
];
for (const image of await benchImages()) {
  if (image.maxPixels > 2e6) continue;
  const { readFile } = await import("node:fs/promises");
  sources.push({ name: image.name, bytes: await readFile(image.file), factors: [3] });
}

const rows: string[] = [];
for (const source of sources) {
  const whole = await decodeImage(source.bytes);
  for (const factor of source.factors) {
    const [w, h] = [Math.floor(whole.width / factor), Math.floor(whole.height / factor)];
    const exact = resizeBicubicSync(whole, w, h).data;
    await decodeImage(source.bytes, { shrinkTo: { width: w, height: h } });
    const full = await timed(() => decodeImage(source.bytes, { shrinkTo: { width: w, height: h } }));
    const onLoad = await timed(() => shrinkOnLoad(source.bytes, w, h));
    rows.push(
      `| ${source.name} | ${whole.width}×${whole.height} → ${w}×${h} | ${meanAbsDelta(full.value.data, exact).toExponential(2)} | ${full.ms.toFixed(0)} | ${meanAbsDelta(onLoad.value, exact).toExponential(2)} | ${onLoad.ms.toFixed(0)} |`,
    );
    console.error(rows.at(-1));
  }
}
console.log(
  "Shrink fidelity to a whole decode + Pillow's bicubic (mean |Δ|, 0..1 units; issue bound 0.01), one run each",
);
console.log("");
console.log("| image | shrink | full-scale decode + libvips cubic (Squint) | ms | sharp shrink-on-load | ms |");
console.log("|---|---|---:|---:|---:|---:|");
console.log(rows.join("\n"));
