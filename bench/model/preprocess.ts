/**
 * Image preprocessing speed and fidelity (issue 9): an image file → Qwen3-VL patches at a 1.3 MP budget
 * (and one 16 MP image at the full 16 MP budget), three ways in the same run, alternating per repeat. The
 * images (bench/model/_images.ts): real photos from the shared data set (BENCH_DATA to point elsewhere) and a
 * generated PNG, WebP and 16 MP JPEG.
 *  - transformers.js (Qwen2VLImageProcessor with Qwen3-VL's settings), pinned, installed by this bench into
 *    bench/out/transformers-js-<version> (not a dependency of the package);
 *  - Squint "exact": a whole decode, then the Pillow-exact JavaScript resize;
 *  - Squint "fast" (the default): a shrink decoded straight to its size in one libvips pass (JPEG
 *    shrink-on-load, WebP scaled in libwebp), then one normalise + patchify pass.
 * Reported: median wall ms, the longest event-loop stall while it ran (a 1 ms interval timer's worst gap),
 * and the fast path's mean |Δ| from the Pillow-exact pixels in 0..1 units (issue bound: 0.01).
 *
 *   node --expose-gc --import tsx bench/model/preprocess.ts        BENCH_REPEATS=3 BENCH_DATA=dir
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import sharp from "sharp";
import { preprocessImage, type ResizeMode } from "../../src/model/vision.js";
import { benchImages } from "./_images.js";

const TJS_VERSION = "3.8.1";
const root = fileURLToPath(new URL("../../", import.meta.url));
const scratch = join(root, "bench", "out", `transformers-js-${TJS_VERSION}`);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

function installTransformersJs(): void {
  if (existsSync(join(scratch, "node_modules", "@huggingface", "transformers", "package.json"))) return;
  mkdirSync(scratch, { recursive: true });
  writeFileSync(join(scratch, "package.json"), '{"name":"squint-bench-transformers-js","private":true}\n');
  const result = spawnSync(
    "npm",
    ["install", "--no-audit", "--no-fund", "--ignore-scripts", `@huggingface/transformers@${TJS_VERSION}`],
    { cwd: scratch, stdio: "inherit" },
  );
  if (result.status !== 0) throw new Error(`npm install of @huggingface/transformers@${TJS_VERSION} failed`);
}

/** Runs `work` while a 1 ms timer measures the longest gap the event loop went without running it. */
async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; stallMs: number; value: T }> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  const value = await work();
  const ms = performance.now() - t0;
  clearInterval(timer);
  worst = Math.max(worst, performance.now() - last);
  return { ms, stallMs: worst, value };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

type TjsProcessor = (image: unknown) => Promise<{ pixel_values: { dims: number[] } }>;
interface TjsModule {
  Qwen2VLImageProcessor: new (config: Record<string, unknown>) => TjsProcessor & { _call: TjsProcessor };
  RawImage: { read(path: string): Promise<unknown> };
}

async function main(): Promise<void> {
  installTransformersJs();
  const tjs = (await import(
    pathToFileURL(join(scratch, "node_modules", "@huggingface", "transformers", "src", "transformers.js")).href
  )) as TjsModule;
  const cases = await benchImages();
  // libvips caches loads by file name: every repeat after the first would time a cache hit, not a decode.
  // transformers.js reads through its own sharp (from a fresh buffer each time); switched off there too.
  sharp.cache(false);
  const tjsSharp = (await import(pathToFileURL(join(scratch, "node_modules", "sharp", "lib", "index.js")).href)) as {
    default: { cache(enabled: boolean): unknown };
  };
  tjsSharp.default.cache(false);

  const rows: string[] = [];
  for (const c of cases) {
    const processor = new tjs.Qwen2VLImageProcessor({
      do_resize: true,
      resample: 3,
      do_rescale: true,
      rescale_factor: 1 / 255,
      do_normalize: true,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
      patch_size: 16,
      temporal_patch_size: 2,
      merge_size: 2,
      min_pixels: 65536,
      max_pixels: c.maxPixels,
    });
    const squint = (resize: ResizeMode) => () =>
      preprocessImage(c.file, { maxPixels: c.maxPixels, minPixels: 65536, resize });
    const runs: Record<"tjs" | "exact" | "fast", { ms: number[]; stall: number[] }> = {
      tjs: { ms: [], stall: [] },
      exact: { ms: [], stall: [] },
      fast: { ms: [], stall: [] },
    };
    // Warm-up (sharp's and the JIT's first calls), then alternate.
    await processor(await tjs.RawImage.read(c.file));
    const exact = (await squint("exact")()).pixelValues;
    const fastOut = await squint("fast")();
    let tjsDims: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const order = r % 2 === 0 ? (["tjs", "exact", "fast"] as const) : (["fast", "exact", "tjs"] as const);
      for (const mode of order) {
        global.gc?.();
        const result =
          mode === "tjs"
            ? await timed(async () => processor(await tjs.RawImage.read(c.file)))
            : await timed(squint(mode));
        if (mode === "tjs") tjsDims = (result.value as { pixel_values: { dims: number[] } }).pixel_values.dims;
        runs[mode].ms.push(result.ms);
        runs[mode].stall.push(result.stallMs);
      }
    }
    let sum = 0;
    for (let i = 0; i < exact.length; i++) sum += Math.abs(exact[i]! - fastOut.pixelValues[i]!);
    // pixel_values are (x/255 − 0.5)/0.5: half of their difference is in 0..1 pixel units.
    const meanDelta = (sum / exact.length) * 0.5;
    const m = (mode: "tjs" | "exact" | "fast") => median(runs[mode].ms);
    const stall = (mode: "tjs" | "exact" | "fast") => Math.max(...runs[mode].stall);
    rows.push(
      `| ${c.name} | ${fastOut.width}×${fastOut.height} (${tjsDims.join("×")} tjs) | ${m("tjs").toFixed(0)} | ${m("exact").toFixed(0)} | ${m("fast").toFixed(0)} | **${(m("tjs") / m("fast")).toFixed(1)}×** | ${(m("exact") / m("fast")).toFixed(1)}× | ${stall("tjs").toFixed(0)} / ${stall("exact").toFixed(0)} / ${stall("fast").toFixed(0)} | ${meanDelta.toExponential(2)} |`,
    );
    console.error(rows.at(-1));
  }
  console.log(
    `Image file → Qwen3-VL patches (decode, smart_resize, bicubic, normalise, patchify), median of ${REPEATS}, alternating; transformers.js ${TJS_VERSION}`,
  );
  console.log("");
  console.log(
    "| image | resized | transformers.js ms | Squint exact ms | Squint fast ms | transformers.js / fast | exact / fast | worst event-loop stall ms (tjs / exact / fast) | fast vs Pillow-exact mean abs Δ (0..1) |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---|---:|");
  console.log(rows.join("\n"));
}

await main();
