import { readFile } from "node:fs/promises";
import { decodeToRgb } from "../../src/tools/ocr/pixels.js";
import { PpOcrModel, packagedPpOcrPaths } from "../../src/tools/ocr/ppocr/ppocr-model.js";
import { defaultPpOcrReadOptions, readLinesWithPpOcr } from "../../src/tools/ocr/ppocr/read-lines.js";
import { wordRecall } from "../../src/tools/ocr/word-recall.js";
import { loadOcrTruth } from "../../test/tools/ocr/ocr-truth.js";

/**
 * Tries PP-OCR settings on ../shared/data/ocr and prints word recall per image and per group.
 * `node --import tsx bench/ocr/explore.ts [longSides] [gapFactors] [batchSizes]`, e.g. `0,960 1.6,2 1,8`
 * (long side 0 = the default rule: the image's own size clamped to [960, 2048]).
 */
const longSides = (process.argv[2] ?? "0").split(",").map(Number);
const gaps = (process.argv[3] ?? String(defaultPpOcrReadOptions.wordGapFactor)).split(",").map(Number);
const batchSizes = (process.argv[4] ?? String(defaultPpOcrReadOptions.batchSize)).split(",").map(Number);
const model = await PpOcrModel.load(packagedPpOcrPaths(), 2);
for (const longSide of longSides) {
  for (const gap of gaps)
    for (const batchSize of batchSizes) {
      const sums = { document: [0, 0], scene: [0, 0] };
      const exact = { document: [0, 0], scene: [0, 0] };
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      for (const image of loadOcrTruth()) {
        const rgb = await decodeToRgb(await readFile(image.path));
        const { detectionMinSide, detectionMaxSide } = defaultPpOcrReadOptions;
        const side =
          longSide > 0 ? longSide : Math.min(detectionMaxSide, Math.max(detectionMinSide, rgb.width, rgb.height));
        const lines = await readLinesWithPpOcr(model, rgb, {
          ...defaultPpOcrReadOptions,
          detectionMinSide: side,
          detectionMaxSide: side,
          wordGapFactor: gap,
          batchSize,
        });
        const r = wordRecall(
          image.words,
          lines.map((l) => l.words.map((w) => w.text)),
        );
        const e = wordRecall(
          image.words,
          lines.map((l) => l.words.map((w) => w.text)),
          { joinWords: false },
        );
        exact[image.group][0] += e.found;
        exact[image.group][1] += e.total;
        sums[image.group][0] += r.found;
        sums[image.group][1] += r.total;
        console.log(
          `${side}\t${gap}\t${image.group}\t${(r.recall * 100).toFixed(0)}%\t${r.found}/${r.total}\t${image.file}\tmissing: ${r.missing.slice(0, 12).join(" ")}`,
        );
        if (process.env.SHOW)
          console.log(
            lines.map((l) => `   ${l.confidence.toFixed(2)} ${l.words.map((w) => w.text).join(" | ")}`).join("\n"),
          );
      }
      const pct = (group: "document" | "scene", s = sums) => ((s[group][0] / s[group][1]) * 100).toFixed(1);
      console.log(
        `long side ${longSide}, gap ${gap}, batch ${batchSize}: documents ${pct("document")}% scene ${pct("scene")}% (exact words only: ${pct("document", exact)}% / ${pct("scene", exact)}%) (wall ${((performance.now() - t0) / 1000).toFixed(1)} s, cpu ${((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6).toFixed(1)} s)`,
      );
    }
}
