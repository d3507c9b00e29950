/**
 * The images the preprocessing benchmarks run on: real photos from the shared data set (BENCH_DATA, or
 * shared/data beside or above the checkout) and a generated set made once under bench/out (a 16 MP JPEG for
 * the full pixel budget, and a PNG and a WebP so that every decoder path is timed).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

const root = fileURLToPath(new URL("../../", import.meta.url));
export const BUDGET = 1280 * 32 * 32; // 1.31 MP
export const FULL_BUDGET = 16384 * 32 * 32; // Qwen3-VL's default max_pixels (16.8 MP)

export interface BenchImage {
  name: string;
  file: string;
  maxPixels: number;
}

const PHOTOS = [
  "detail/vstar-street-signicade.jpg",
  "detail/vstar-house-flag.jpg",
  "detail/vstar-office-black-mug.jpg",
  "detail/vstar-desk-mug-logo.webp",
  "detail/qwen-agent-hop-inn-pub.jpg",
];

/** The shared data folder: BENCH_DATA, else `shared/data` next to this checkout or one level further up. */
export function dataDir(): string | undefined {
  if (process.env.BENCH_DATA) return process.env.BENCH_DATA;
  return [join(root, "..", "shared", "data"), join(root, "..", "..", "shared", "data")].find((dir) => existsSync(dir));
}

/**
 * A held-out set (BENCH_IMAGES=heldout) for checking a speed-up on images nobody tuned on: two shared photos
 * the default set leaves out, re-encoded as PNG and WebP, and generated images of other sizes and content.
 */
const HELD_OUT_PHOTOS = ["detail/vstar-sports-palace-vending-machine.jpg", "detail/vstar-anime-room-glass.jpg"];

/** Deterministic photo-like pixels (smooth fields, edges, grain). */
function photoLike(width: number, height: number, seed: number): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  let state = seed;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      state = (state * 1103515245 + 12345) >>> 0;
      const grain = (state >>> 24) / 12;
      const i = (y * width + x) * 3;
      raw[i] = Math.min(255, (x / width) * 200 + ((x + 2 * y) % 301 < 120 ? 40 : 0) + grain);
      raw[i + 1] = Math.min(255, (y / height) * 210 + grain);
      raw[i + 2] = Math.min(255, 128 + 100 * Math.sin(x / 53) * Math.cos(y / 41) + grain);
    }
  }
  return raw;
}

async function generated(
  name: string,
  width: number,
  height: number,
  format: "jpeg" | "png" | "webp",
  from?: string,
  seed = 3,
) {
  const file = join(root, "bench", "out", name);
  if (existsSync(file)) return file;
  mkdirSync(join(root, "bench", "out"), { recursive: true });
  const image = from
    ? sharp(from).autoOrient().toColourspace("srgb").removeAlpha()
    : sharp(photoLike(width, height, seed), { raw: { width, height, channels: 3 } });
  await (format === "jpeg"
    ? image.jpeg({ quality: 90 })
    : format === "png"
      ? image.png()
      : image.webp({ quality: 90 })
  ).toFile(file);
  return file;
}

/** The held-out photos found, as PNG and WebP, and generated images unlike the default set's. */
async function heldOutImages(): Promise<BenchImage[]> {
  const data = dataDir();
  const images: BenchImage[] = [];
  for (const photo of HELD_OUT_PHOTOS) {
    const source = join(data ?? "", photo);
    if (!data || !existsSync(source)) {
      console.error(`Held-out photo ${photo} not found (BENCH_DATA=${data ?? "unset"})`);
      continue;
    }
    const stem =
      photo
        .split("/")
        .at(-1)
        ?.replace(/\.jpg$/, "") ?? photo;
    for (const format of ["png", "webp"] as const) {
      images.push({
        name: `held-out ${stem} as ${format.toUpperCase()}`,
        file: await generated(`heldout-${stem}.${format}`, 0, 0, format, source),
        maxPixels: BUDGET,
      });
    }
  }
  images.push(
    {
      name: "held-out generated 2200×3400 PNG",
      file: await generated("heldout-portrait.png", 2200, 3400, "png", undefined, 11),
      maxPixels: BUDGET,
    },
    {
      name: "held-out generated 4200×2400 WebP",
      file: await generated("heldout-wide.webp", 4200, 2400, "webp", undefined, 12),
      maxPixels: BUDGET,
    },
  );
  return images;
}

/**
 * The photos found (a missing data folder leaves just the generated set) and the generated images; with
 * BENCH_IMAGES=heldout, the held-out set instead.
 */
export async function benchImages(): Promise<BenchImage[]> {
  // BENCH_ONLY=webp,png keeps the images whose name contains one of the words, to spend repeats where they matter.
  const only = process.env.BENCH_ONLY?.toLowerCase().split(",").filter(Boolean);
  const images = process.env.BENCH_IMAGES === "heldout" ? await heldOutImages() : await defaultImages();
  return only ? images.filter((image) => only.some((word) => image.name.toLowerCase().includes(word))) : images;
}

async function defaultImages(): Promise<BenchImage[]> {
  const data = dataDir();
  const photos = PHOTOS.filter((file) => data && existsSync(join(data, file))).map((file) => ({
    name: file.split("/").at(-1) ?? file,
    file: join(data ?? "", file),
    maxPixels: BUDGET,
  }));
  if (photos.length < PHOTOS.length) {
    console.error(`Only ${photos.length} of ${PHOTOS.length} photos found (BENCH_DATA=${data ?? "unset"})`);
  }
  return [
    ...photos,
    {
      name: "generated 3000×2000 PNG",
      file: await generated("preprocess-6mp.png", 3000, 2000, "png"),
      maxPixels: BUDGET,
    },
    {
      name: "generated 3000×2000 WebP",
      file: await generated("preprocess-6mp.webp", 3000, 2000, "webp"),
      maxPixels: BUDGET,
    },
    {
      name: "generated 4096×4096 JPEG (16 MP budget)",
      file: await generated("preprocess-16mp.jpg", 4096, 4096, "jpeg"),
      maxPixels: FULL_BUDGET,
    },
  ];
}
