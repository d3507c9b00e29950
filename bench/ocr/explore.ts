import { readFile } from "node:fs/promises";
import { decodeToRgb } from "../../src/tools/ocr/pixels.js";
import { PpOcrModel, packagedPpOcrPaths } from "../../src/tools/ocr/ppocr/ppocrModel.js";
import { readLinesWithPpOcr } from "../../src/tools/ocr/ppocr/readLines.js";
import { wordRecall } from "../../src/tools/ocr/wordRecall.js";
import { loadOcrTruth } from "../../test/tools/ocr/ocrTruth.js";

const longSides = (process.argv[2] ?? "960").split(",").map(Number);
const model = await PpOcrModel.load(await packagedPpOcrPaths(), 2);
for (const longSide of longSides) {
  const sums = { document: [0, 0], scene: [0, 0] };
  const t0 = performance.now();
  for (const image of loadOcrTruth()) {
    const rgb = await decodeToRgb(await readFile(image.path));
    const side = longSide > 0 ? longSide : Math.max(rgb.width, rgb.height);
    const lines = await readLinesWithPpOcr(model, rgb, { detectionLongSide: side, minConfidence: 0.5 });
    const r = wordRecall(image.words, lines.map((l) => l.words.map((w) => w.text)));
    sums[image.group][0] += r.found;
    sums[image.group][1] += r.total;
    console.log(`${side}\t${image.group}\t${(r.recall * 100).toFixed(0)}%\t${r.found}/${r.total}\t${image.file}\tmissing: ${r.missing.slice(0, 12).join(" ")}`);
    if (process.env.SHOW) console.log(lines.map((l) => `   ${l.confidence.toFixed(2)} ${l.text}`).join("\n"));
  }
  console.log(`long side ${longSide}: documents ${((sums.document[0] / sums.document[1]) * 100).toFixed(1)}% scene ${((sums.scene[0] / sums.scene[1]) * 100).toFixed(1)}% (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
}
