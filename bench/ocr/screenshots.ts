import { readFileSync } from "node:fs";
import { z } from "zod";
import { decodeToRgb } from "../../src/tools/ocr/pixels.js";
import { PpOcrModel, packagedPpOcrPaths } from "../../src/tools/ocr/ppocr/ppocr-model.js";
import { defaultPpOcrReadOptions, readLinesWithPpOcr } from "../../src/tools/ocr/ppocr/read-lines.js";
import { truthWords, wordRecall } from "../../src/tools/ocr/word-recall.js";
import { dataRoot } from "../../test/tools/ocr/ocr-truth.js";

/**
 * Screenshot text (../shared/data/gui) at a fixed detection size of 960 against the default rule (the
 * image's own size clamped to [960, 2048]). The truth is rough: box labels that are texts on screen
 * (OmniParser's OCR entries, and short Midscene labels), not full transcriptions, so only the comparison
 * between the two settings means something. `node --import tsx bench/ocr/screenshots.ts`
 */
const entry = z.object({
  file: z.string(),
  width: z.number(),
  height: z.number(),
  truth: z.object({ boxes: z.array(z.object({ label: z.string(), source: z.string().optional() })).optional() }),
});
const manifest = z.array(z.unknown()).parse(JSON.parse(readFileSync(`${dataRoot}MANIFEST.json`, "utf8")));
const screenshots = manifest.flatMap((raw) => {
  const parsed = entry.safeParse(raw);
  return parsed.success && parsed.data.file.startsWith("gui/") ? [parsed.data] : [];
});
const model = await PpOcrModel.load(packagedPpOcrPaths(), 2);
const { detectionMinSide, detectionMaxSide } = defaultPpOcrReadOptions;
console.log(
  "| screenshot | size | words at 960 | words, default rule | CPU 960 | CPU default |\n|---|---|---|---|---|---|",
);
for (const shot of screenshots) {
  const labels = (shot.truth.boxes ?? []).filter(
    (b) => !(b.source ?? "").startsWith("test_expectation") || b.label.length < 8,
  );
  const words = truthWords(labels.map((b) => b.label).join("\n"));
  const image = await decodeToRgb(readFileSync(`${dataRoot}${shot.file}`));
  const cells: string[] = [];
  const cpus: string[] = [];
  for (const side of [960, Math.min(detectionMaxSide, Math.max(detectionMinSide, shot.width, shot.height))]) {
    const cpu0 = process.cpuUsage();
    const lines = await readLinesWithPpOcr(model, image, {
      ...defaultPpOcrReadOptions,
      detectionMinSide: side,
      detectionMaxSide: side,
    });
    const cpu = process.cpuUsage(cpu0);
    const recall = wordRecall(
      words,
      lines.map((l) => l.words.map((w) => w.text)),
    );
    cells.push(`${recall.found}/${recall.total}`);
    cpus.push(`${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);
  }
  console.log(
    `| ${shot.file.replace("gui/", "")} | ${shot.width}x${shot.height} | ${cells.join(" | ")} | ${cpus.join(" | ")} |`,
  );
}
await model.release();
