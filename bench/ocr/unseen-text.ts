import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { z } from "zod";
import { createLocalOcrEngine, type OcrEngine } from "../../src/tools/ocr/local-engine.js";
import { defaultPpOcrReadOptions, type PpOcrReadOptions } from "../../src/tools/ocr/ppocr/read-lines.js";
import { wordRecall } from "../../src/tools/ocr/word-recall.js";
import { loadOcrTruth, sharedDataPresent } from "../../test/tools/ocr/ocr-truth.js";
import { type SynthGroup, type SynthImage, type SynthSet, syntheticImages } from "./_synthetic-set.js";
import { editDistance, hasCjk, pageText, unspacedText } from "./_text-metrics.js";

/**
 * OCR on images nobody tuned it on. Renders the synthetic sets (bench/ocr/_synthetic-set.ts: documents,
 * scene text, Chinese; a `tune` and a `judge` set with different seeds, words and fonts) and reads each image
 * with three engines in the same run, in rotating order:
 *
 * - "PP-OCRv4, before": squint's pipeline with the decoding it had before issue 11 (no space evidence, the
 *   whole dictionary on every line, no 0/O context) — the baseline;
 * - "PP-OCRv4, now": the defaults (src/tools/ocr/ppocr/read-lines.ts);
 * - "tesseract.js (eng)": tesseract.js 7 with the English data from @tesseract.js-data/eng.
 *
 * Per group and set: strict word recall (exact words as printed: case kept, no joining of split words;
 * punctuation ignored), word recall as in ../shared/data's tests (case-free, joins allowed), character
 * error rate (over the page's words, sorted; and again over the lines in reading order with all spaces
 * taken out, which is what counts for Chinese, written without spaces: 1 - that is the character accuracy),
 * how many lines gained a CJK character on Latin images, and wall and CPU time per image. Then the same engines on ../shared/data/ocr, reported apart.
 *
 * `node --import tsx bench/ocr/unseen-text.ts [count per group and set, default 12] [sets: tune,judge]`
 */
const perGroup = Number(process.argv[2] ?? 12);
const sets = (process.argv[3] ?? "tune,judge").split(",") as SynthSet[];
const groups: SynthGroup[] = ["documents", "scene", "cjk"];

interface Reader {
  name: string;
  read(bytes: Uint8Array): Promise<string[]>;
  close(): Promise<void>;
}

const before: Partial<PpOcrReadOptions> = {
  minSpaceProbability: 1,
  script: "chinese",
  fixLetterDigit: false,
};

async function squintReader(name: string, read: Partial<PpOcrReadOptions>): Promise<Reader> {
  const engine: OcrEngine = await createLocalOcrEngine({ threads: 2, read });
  return {
    name,
    read: async (bytes) => (await engine.recognize(bytes)).lines.map((l) => l.words.map((w) => w.text).join(" ")),
    close: () => engine.close(),
  };
}

async function tesseractReader(): Promise<Reader> {
  const tesseract = await import("tesseract.js");
  const eng = z.object({ langPath: z.string() }).parse(createRequire(import.meta.url)("@tesseract.js-data/eng"));
  // langPath from the package and no cache: otherwise tesseract.js fetches from a CDN on first use.
  const worker = await tesseract.createWorker("eng", 1, { langPath: eng.langPath, cacheMethod: "none", gzip: true });
  return {
    name: "tesseract.js (eng)",
    read: async (bytes) => {
      const { data } = await worker.recognize(Buffer.from(bytes));
      return data.text.split("\n").filter((l) => l.trim() !== "");
    },
    close: async () => {
      await worker.terminate();
    },
  };
}

interface Tally {
  strictFound: number;
  looseFound: number;
  words: number;
  edits: number;
  chars: number;
  /** The same with every space taken out: how well the characters themselves were read. */
  editsNoSpace: number;
  charsNoSpace: number;
  cjkLines: number;
  ms: number;
  /** Process CPU time (all threads: ONNX Runtime's pool, tesseract's worker): steadier than wall time on a busy machine. */
  cpuMs: number;
  images: number;
}
const empty = (): Tally => ({
  strictFound: 0,
  looseFound: 0,
  words: 0,
  edits: 0,
  chars: 0,
  editsNoSpace: 0,
  charsNoSpace: 0,
  cjkLines: 0,
  ms: 0,
  cpuMs: 0,
  images: 0,
});

const readers = [
  await squintReader("PP-OCRv4, before", { ...defaultPpOcrReadOptions, ...before }),
  await squintReader("PP-OCRv4, now", defaultPpOcrReadOptions),
  await tesseractReader(),
];

async function score(images: { bytes: Uint8Array; truth: string[]; latin: boolean }[], tallies: Tally[]) {
  for (const [i, image] of images.entries()) {
    // Rotate who goes first, so warm caches and a busy neighbour do not favour one engine.
    for (let k = 0; k < readers.length; k++) {
      const r = (i + k) % readers.length;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const lines = await readers[r]!.read(image.bytes);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      const tally = tallies[r]!;
      const truthTokens = image.truth.flatMap((l) => l.split(/\s+/u)).filter((w) => w !== "");
      const ocrWords = lines.map((l) => l.split(/\s+/u).filter((w) => w !== ""));
      const strict = wordRecall(truthTokens, ocrWords, { joinWords: false, keepCase: true });
      const loose = wordRecall(truthTokens, ocrWords);
      tally.strictFound += strict.found;
      tally.looseFound += loose.found;
      tally.words += strict.total;
      const truthText = pageText(image.truth);
      tally.edits += editDistance(truthText, pageText(lines));
      tally.chars += [...truthText].length;
      const truthNoSpace = unspacedText(image.truth);
      tally.editsNoSpace += editDistance(truthNoSpace, unspacedText(lines));
      tally.charsNoSpace += [...truthNoSpace].length;
      if (image.latin) tally.cjkLines += lines.filter(hasCjk).length;
      tally.ms += ms;
      tally.cpuMs += (cpu.user + cpu.system) / 1000;
      tally.images++;
    }
  }
}

const pct = (n: number, d: number) => (d === 0 ? "–" : `${((n / d) * 100).toFixed(1)}%`);
const row = (cells: string[]) => `| ${cells.join(" | ")} |`;
console.log(
  row([
    "set",
    "group",
    "images",
    "engine",
    "strict word recall",
    "word recall",
    "CER",
    "CER, spaces ignored",
    "Latin lines with CJK",
    "wall ms / image",
    "CPU ms / image",
    "CPU vs before",
  ]),
);
console.log(row(Array.from({ length: 12 }, () => "---")));
for (const set of sets) {
  for (const group of groups) {
    const images: SynthImage[] = await syntheticImages(group, set, perGroup);
    const tallies = readers.map(empty);
    await score(
      images.map((im) => ({ bytes: im.bytes, truth: im.lines, latin: group !== "cjk" })),
      tallies,
    );
    const base = tallies[0]!.cpuMs / tallies[0]!.images;
    for (const [r, t] of tallies.entries()) {
      console.log(
        row([
          set,
          group,
          String(t.images),
          readers[r]!.name,
          pct(t.strictFound, t.words),
          pct(t.looseFound, t.words),
          pct(t.edits, t.chars),
          pct(t.editsNoSpace, t.charsNoSpace),
          group === "cjk" ? "–" : String(t.cjkLines),
          (t.ms / t.images).toFixed(0),
          (t.cpuMs / t.images).toFixed(0),
          `${(t.cpuMs / t.images / base).toFixed(2)}×`,
        ]),
      );
    }
  }
}

if (sharedDataPresent()) {
  console.log("\n../shared/data/ocr (the images the settings before issue 11 were tuned on):\n");
  // The manifest's truth is lower-cased words (truthWords), so there is no case-strict column here.
  console.log(
    row([
      "group",
      "images",
      "engine",
      "word recall",
      "exact words only",
      "wall ms / image",
      "CPU ms / image",
      "CPU vs before",
    ]),
  );
  console.log(row(Array.from({ length: 8 }, () => "---")));
  const truth = loadOcrTruth();
  for (const group of ["document", "scene"] as const) {
    const chosen = truth.filter((t) => t.group === group);
    const tallies = readers.map(empty);
    const exact = readers.map(() => 0);
    for (const [i, image] of chosen.entries()) {
      const bytes = await readFile(image.path);
      for (let k = 0; k < readers.length; k++) {
        const r = (i + k) % readers.length;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const lines = await readers[r]!.read(bytes);
        tallies[r]!.ms += performance.now() - t0;
        const cpu = process.cpuUsage(c0);
        tallies[r]!.cpuMs += (cpu.user + cpu.system) / 1000;
        tallies[r]!.images++;
        const ocrWords = lines.map((l) => l.split(/\s+/u).filter((w) => w !== ""));
        tallies[r]!.looseFound += wordRecall(image.words, ocrWords).found;
        exact[r]! += wordRecall(image.words, ocrWords, { joinWords: false }).found;
        tallies[r]!.words += wordRecall(image.words, ocrWords).total;
      }
    }
    const base = tallies[0]!.cpuMs / tallies[0]!.images;
    for (const [r, t] of tallies.entries()) {
      console.log(
        row([
          group,
          String(t.images),
          readers[r]!.name,
          pct(t.looseFound, t.words),
          pct(exact[r]!, t.words),
          (t.ms / t.images).toFixed(0),
          (t.cpuMs / t.images).toFixed(0),
          `${(t.cpuMs / t.images / base).toFixed(2)}×`,
        ]),
      );
    }
  }
}
for (const reader of readers) await reader.close();
