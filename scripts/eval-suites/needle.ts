/**
 * Generates suites/needle: V*-style "needle in a haystack" items. Each image is a 4K–8K canvas full of pale
 * clutter (grey words, pastel shapes) with one small target placed at a known box: a red sign with a word on
 * it, or a magenta shape. The question asks about the target, with four options; the truth is known because
 * the generator put it there. At the pixel budgets vision servers use (≈1 MP), the target is a few pixels
 * wide in the whole-image view, so answering needs a zoom — the claim the loop has to prove.
 *
 * The JSONL is committed; the images are rendered from the seed on the user's machine (`npm run suites`),
 * into suites/needle/images/ (git-ignored). Why not commit them: 48 canvases of 4K–8K are ≈ 7 MB even as
 * 16-colour PNGs, and the truth does not depend on the exact pixels — the word on the sign and the target's
 * box are the same whatever fonts anti-alias the clutter. (The GUI suite is the opposite case: its truth
 * comes from the browser's layout, so its screenshots are committed with their boxes.)
 *
 *   node --import tsx scripts/eval-suites/needle.ts [--seed 7] [--count 48] [--out suites/needle] [--jsonl-only]
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { seededRandom, shuffled } from "./random.js";

export const WORDS = [
  "harbor",
  "violet",
  "cactus",
  "lantern",
  "meadow",
  "pepper",
  "quartz",
  "saddle",
  "tunnel",
  "walnut",
  "anchor",
  "bramble",
  "copper",
  "dolphin",
  "ember",
  "falcon",
  "glacier",
  "hazel",
  "island",
  "jasmine",
  "kettle",
  "lemon",
  "marble",
  "nutmeg",
  "orchid",
  "pebble",
  "raven",
  "salmon",
  "timber",
  "velvet",
];

export const SHAPES = ["circle", "square", "triangle", "star", "hexagon", "cross"] as const;
type Shape = (typeof SHAPES)[number];

export const CANVASES = [
  { width: 3840, height: 2160 },
  { width: 5760, height: 3240 },
  { width: 7680, height: 4320 },
] as const;

/** The target colours; clutter never uses them (a test checks the target box holds them and nothing else does). */
export const SIGN_RED = "#d40000";
export const TARGET_MAGENTA = "#e000c8";

export interface NeedleItem {
  id: string;
  image: string;
  question: string;
  options: string[];
  truth: { type: "choice"; answer: string };
  category: string;
  source: string;
  licence: string;
  meta: { canvas: [number, number]; target: [number, number, number, number]; kind: string; seed: number };
}

function shapePath(shape: Shape, cx: number, cy: number, r: number): string {
  const polygon = (points: Array<[number, number]>) =>
    `<polygon points="${points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ")}"`;
  const ring = (count: number, radius: (i: number) => number, turn = -Math.PI / 2) =>
    Array.from({ length: count }, (_, i) => {
      const angle = turn + (i * 2 * Math.PI) / count;
      return [cx + radius(i) * Math.cos(angle), cy + radius(i) * Math.sin(angle)] as [number, number];
    });
  switch (shape) {
    case "circle":
      return `<circle cx="${cx}" cy="${cy}" r="${r}"`;
    case "square":
      return `<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${2 * r}"`;
    case "triangle":
      return polygon(ring(3, () => r));
    case "star":
      return polygon(ring(10, (i) => (i % 2 === 0 ? r : r * 0.45)));
    case "hexagon":
      return polygon(ring(6, () => r, 0));
    case "cross": {
      const t = r * 0.35;
      return polygon([
        [cx - t, cy - r],
        [cx + t, cy - r],
        [cx + t, cy - t],
        [cx + r, cy - t],
        [cx + r, cy + t],
        [cx + t, cy + t],
        [cx + t, cy + r],
        [cx - t, cy + r],
        [cx - t, cy + t],
        [cx - r, cy + t],
        [cx - r, cy - t],
        [cx - t, cy - t],
      ]);
    }
  }
}

/** Clutter objects per 3840×2160 of canvas (scaled with area): enough to hide the target, few enough to keep the PNGs small. */
export const CLUTTER_PER_4K = 90;

const PASTELS = ["#c9d6e3", "#d9e6c9", "#e6dcc9", "#d6c9e6", "#c9e6e0", "#e6c9cf", "#dcdcdc"];

/** One canvas: clutter, then the target at a box that avoids the border. Returns the SVG and the target box. */
function canvas(
  random: () => number,
  size: { width: number; height: number },
  target: { kind: "word"; word: string } | { kind: "shape"; shape: Shape },
) {
  const { width, height } = size;
  const unit = height / 2160;
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="#f4f1ea"/>`];
  const clutter = Math.round((CLUTTER_PER_4K * (width * height)) / (3840 * 2160));
  for (let i = 0; i < clutter; i++) {
    const x = random() * width;
    const y = random() * height;
    const colour = PASTELS[Math.floor(random() * PASTELS.length)] as string;
    if (random() < 0.5) {
      const word = WORDS[Math.floor(random() * WORDS.length)] as string;
      const size = (14 + random() * 22) * unit;
      parts.push(
        `<text x="${x.toFixed(0)}" y="${y.toFixed(0)}" font-size="${size.toFixed(0)}" fill="#a7a9ab">${word}</text>`,
      );
    } else {
      const shape = SHAPES[Math.floor(random() * SHAPES.length)] as Shape;
      parts.push(`${shapePath(shape, x, y, (10 + random() * 40) * unit)} fill="${colour}"/>`);
    }
  }
  const margin = 0.08;
  const cx = (margin + random() * (1 - 2 * margin)) * width;
  const cy = (margin + random() * (1 - 2 * margin)) * height;
  let box: [number, number, number, number];
  if (target.kind === "word") {
    const fontSize = 18 * unit;
    const w = fontSize * 0.62 * target.word.length + 12 * unit;
    const h = fontSize * 1.5;
    box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
    parts.push(
      `<rect x="${box[0].toFixed(1)}" y="${box[1].toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" rx="${(3 * unit).toFixed(1)}" fill="${SIGN_RED}"/>`,
      `<text x="${cx.toFixed(1)}" y="${(cy + fontSize * 0.36).toFixed(1)}" font-size="${fontSize.toFixed(1)}" font-weight="bold" text-anchor="middle" fill="#ffffff">${target.word}</text>`,
    );
  } else {
    const r = 11 * unit;
    box = [cx - r, cy - r, cx + r, cy + r];
    parts.push(`${shapePath(target.shape, cx, cy, r)} fill="${TARGET_MAGENTA}"/>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">${parts.join("")}</svg>`;
  return { svg, box: box.map((value) => Math.round(value * 10) / 10) as [number, number, number, number] };
}

export function planNeedles(seed: number, count: number) {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const size = CANVASES[i % CANVASES.length] as { width: number; height: number };
    const kind = i % 2 === 0 ? "word" : "shape";
    const pool: readonly string[] = kind === "word" ? WORDS : SHAPES;
    const options = shuffled(random, pool).slice(0, 4);
    const answerIndex = Math.floor(random() * 4);
    const truth = options[answerIndex] as string;
    const target =
      kind === "word" ? { kind: "word" as const, word: truth } : { kind: "shape" as const, shape: truth as Shape };
    const drawn = canvas(random, size, target);
    return { index: i, size, kind, options, answerIndex, ...drawn };
  });
}

export const NEEDLE_SEED = 7;
export const NEEDLE_COUNT = 48;

export const imageName = (index: number) => `images/needle-${String(index).padStart(2, "0")}.png`;

/** The suite's items (what needle.jsonl holds), without rendering anything. */
export function needleItems(seed = NEEDLE_SEED, count = NEEDLE_COUNT): NeedleItem[] {
  return planNeedles(seed, count).map((plan) => ({
    id: `needle-${String(plan.index).padStart(2, "0")}`,
    image: imageName(plan.index),
    question:
      plan.kind === "word" ? "What word is written on the small red sign?" : "What shape is the small magenta object?",
    options: plan.options,
    truth: { type: "choice", answer: String.fromCharCode(65 + plan.answerIndex) },
    category: plan.kind === "word" ? "needle-text" : "needle-shape",
    source: `generated: scripts/eval-suites/needle.ts --seed ${seed}`,
    licence: "Apache-2.0 (generated by this project)",
    meta: { canvas: [plan.size.width, plan.size.height], target: plan.box, kind: plan.kind, seed },
  }));
}

export function needleJsonl(seed = NEEDLE_SEED, count = NEEDLE_COUNT): string {
  return `${needleItems(seed, count)
    .map((item) => JSON.stringify(item))
    .join("\n")}\n`;
}

/** One canvas as a 16-colour PNG. */
export async function renderNeedle(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg), { limitInputPixels: false })
    .png({ palette: true, colours: 16, dither: 0, compressionLevel: 9, effort: 10 })
    .toBuffer();
}

async function main() {
  const { values } = parseArgs({
    options: {
      seed: { type: "string", default: String(NEEDLE_SEED) },
      count: { type: "string", default: String(NEEDLE_COUNT) },
      out: { type: "string", default: "suites/needle" },
      "jsonl-only": { type: "boolean", default: false },
    },
  });
  const seed = Number(values.seed);
  const count = Number(values.count);
  const out = path.resolve(values.out);
  mkdirSync(path.join(out, "images"), { recursive: true });
  writeFileSync(path.join(out, "needle.jsonl"), needleJsonl(seed, count));
  if (values["jsonl-only"]) return;
  for (const plan of planNeedles(seed, count)) {
    const file = path.join(out, imageName(plan.index));
    if (existsSync(file)) continue;
    const png = await renderNeedle(plan.svg);
    writeFileSync(file, png);
    process.stderr.write(`${imageName(plan.index)}: ${plan.size.width}×${plan.size.height}, ${png.byteLength} bytes\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
