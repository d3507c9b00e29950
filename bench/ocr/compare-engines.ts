import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { createLocalOcrEngine } from "../../src/tools/ocr/local-engine.js";
import { wordRecall } from "../../src/tools/ocr/word-recall.js";
import { loadOcrTruth, type OcrGroup } from "../../test/tools/ocr/ocr-truth.js";

/**
 * Word recall of three offline engines on ../shared/data/ocr, under one metric (src/tools/ocr/word-recall.ts):
 * plain tesseract.js 7 (eng from @tesseract.js-data/eng), @gutenye/ocr-node as it ships (PP-OCRv4), and
 * squint's own PP-OCRv4 pipeline. `node --import tsx bench/ocr/compare-engines.ts`. Prints a markdown table.
 */
type Reader = (path: string) => Promise<string[][]>;

const require = createRequire(import.meta.url);

async function tesseractReader(): Promise<{ read: Reader; close: () => Promise<void> }> {
  const tesseract = await import("tesseract.js");
  const eng = z.object({ langPath: z.string() }).parse(require("@tesseract.js-data/eng"));
  // langPath from the package and no cache: otherwise tesseract.js fetches from a CDN on first use.
  const worker = await tesseract.createWorker("eng", 1, { langPath: eng.langPath, cacheMethod: "none", gzip: true });
  return {
    read: async (path) => {
      const { data } = await worker.recognize(path);
      return data.text.split("\n").map((line) => line.split(/\s+/).filter(Boolean));
    },
    close: async () => {
      await worker.terminate();
    },
  };
}

const gutenyeLine = z.object({ text: z.string() });
async function gutenyeReader(): Promise<{ read: Reader; close: () => Promise<void> }> {
  const { default: Ocr } = await import("@gutenye/ocr-node");
  const ocr: unknown = await Ocr.create();
  if (typeof ocr !== "object" || ocr === null || !("detect" in ocr) || typeof ocr.detect !== "function") {
    throw new Error("@gutenye/ocr-node: Ocr.create() gave no detect()");
  }
  const detect = (path: string): Promise<unknown> => (ocr.detect as (p: string) => Promise<unknown>).call(ocr, path);
  return {
    read: async (path) => {
      const lines = z.array(gutenyeLine).parse(await detect(path));
      return lines.map((line) => line.text.split(/\s+/).filter(Boolean));
    },
    close: async () => {},
  };
}

async function squintReader(): Promise<{ read: Reader; close: () => Promise<void> }> {
  const engine = await createLocalOcrEngine();
  return {
    read: async (path) => {
      const result = await engine.recognize(await readFile(path));
      return result.lines.map((line) => line.words.map((w) => w.text));
    },
    close: () => engine.close(),
  };
}

const images = loadOcrTruth();
const engines = [
  ["tesseract.js 7 (eng)", tesseractReader],
  ["@gutenye/ocr-node", gutenyeReader],
  ["squint PP-OCRv4", squintReader],
] as const;
const cells = new Map<string, string[]>(images.map((i) => [i.file, []]));
const totals: string[] = [];
for (const [name, make] of engines) {
  const reader = await make();
  const sums: Record<OcrGroup, [number, number]> = { document: [0, 0], scene: [0, 0] };
  const strict: Record<OcrGroup, [number, number]> = { document: [0, 0], scene: [0, 0] };
  const cpu0 = process.cpuUsage();
  for (const image of images) {
    const lines = await reader.read(image.path);
    const recall = wordRecall(image.words, lines);
    const exact = wordRecall(image.words, lines, { joinWords: false });
    strict[image.group][0] += exact.found;
    strict[image.group][1] += exact.total;
    sums[image.group][0] += recall.found;
    sums[image.group][1] += recall.total;
    cells.get(image.file)!.push(`${recall.found}/${recall.total} (${(recall.recall * 100).toFixed(0)}%)`);
  }
  const cpu = process.cpuUsage(cpu0);
  await reader.close();
  const pct = (s: Record<OcrGroup, [number, number]>, g: OcrGroup) => `${((s[g][0] / s[g][1]) * 100).toFixed(1)}%`;
  totals.push(
    `| ${name} | ${pct(sums, "document")} | ${pct(sums, "scene")} | ${pct(strict, "document")} | ${pct(strict, "scene")} | ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s |`,
  );
}
console.log(`| image | group | ${engines.map(([n]) => n).join(" | ")} |`);
console.log(`|---|---|${engines.map(() => "---").join("|")}|`);
for (const image of images)
  console.log(`| ${image.file.replace("ocr/", "")} | ${image.group} | ${cells.get(image.file)!.join(" | ")} |`);
console.log(
  "\n| engine | documents | scene text | documents, exact words only | scene, exact words only | process CPU |\n|---|---|---|---|---|---|",
);
console.log(totals.join("\n"));
