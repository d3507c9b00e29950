/**
 * Image preprocessing speed and fidelity (issue 9): a photo file → Qwen3-VL patches at a 1.3 MP budget
 * (and one 16 MP image at the full 16 MP budget), three ways in the same run, alternating per repeat:
 *  - transformers.js (Qwen2VLImageProcessor with Qwen3-VL's settings), pinned, installed by this bench into
 *    bench/out/transformers-js-<version> (not a dependency of the package);
 *  - Squint "exact": the Pillow-exact JavaScript resize (the previous default);
 *  - Squint "fast": sharp/libvips for shrinks (the default now).
 * Reported: median wall ms, the longest event-loop stall while it ran (a 1 ms interval timer's worst gap),
 * and the fast path's mean |Δ| from the Pillow-exact pixels in 0..1 units (issue bound: 0.01).
 *
 *   node --import tsx bench/model/preprocess.ts        BENCH_REPEATS=3
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import sharp from "sharp";
import { preprocessImage, type ResizeMode } from "../../src/model/vision.js";

const TJS_VERSION = "3.8.1";
const root = fileURLToPath(new URL("../../", import.meta.url));
const scratch = join(root, "bench", "out", `transformers-js-${TJS_VERSION}`);
const data = join(root, "..", "shared", "data");
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const BUDGET = 1280 * 32 * 32; // 1.31 MP
const FULL_BUDGET = 16384 * 32 * 32; // Qwen3-VL's default max_pixels (16.8 MP)

interface Case {
  name: string;
  file: string;
  maxPixels: number;
}

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

/** A deterministic 4096×4096 photo-like JPEG (smooth fields, edges, grain), made once. */
async function sixteenMegapixelJpeg(): Promise<string> {
  const file = join(root, "bench", "out", "preprocess-16mp.jpg");
  if (existsSync(file)) return file;
  const size = 4096;
  const raw = Buffer.alloc(size * size * 3);
  let state = 3;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      state = (state * 1103515245 + 12345) >>> 0;
      const grain = (state >>> 24) / 12;
      const i = (y * size + x) * 3;
      raw[i] = Math.min(255, (x / size) * 200 + ((x + 2 * y) % 301 < 120 ? 40 : 0) + grain);
      raw[i + 1] = Math.min(255, (y / size) * 210 + grain);
      raw[i + 2] = Math.min(255, 128 + 100 * Math.sin(x / 53) * Math.cos(y / 41) + grain);
    }
  }
  mkdirSync(join(root, "bench", "out"), { recursive: true });
  await sharp(raw, { raw: { width: size, height: size, channels: 3 } })
    .jpeg({ quality: 90 })
    .toFile(file);
  return file;
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
  const cases: Case[] = [
    "detail/vstar-street-signicade.jpg",
    "detail/vstar-house-flag.jpg",
    "detail/vstar-office-black-mug.jpg",
    "detail/vstar-desk-mug-logo.webp",
    "detail/qwen-agent-hop-inn-pub.jpg",
  ]
    .filter((file) => existsSync(join(data, file)))
    .map((file) => ({ name: file.split("/").at(-1)!, file: join(data, file), maxPixels: BUDGET }));
  cases.push({
    name: "synthetic 4096×4096 (16 MP budget)",
    file: await sixteenMegapixelJpeg(),
    maxPixels: FULL_BUDGET,
  });

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
    `Photo file → Qwen3-VL patches (decode, smart_resize, bicubic, normalise, patchify), median of ${REPEATS}, alternating; transformers.js ${TJS_VERSION}`,
  );
  console.log("");
  console.log(
    "| image | resized | transformers.js ms | Squint exact ms | Squint fast ms | transformers.js / fast | exact / fast | worst event-loop stall ms (tjs / exact / fast) | fast vs Pillow-exact mean abs Δ (0..1) |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---|---:|");
  console.log(rows.join("\n"));
}

await main();
