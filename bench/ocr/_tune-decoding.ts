import { createLocalOcrEngine } from "../../src/tools/ocr/local-engine.js";
import { defaultPpOcrReadOptions, type PpOcrReadOptions } from "../../src/tools/ocr/ppocr/read-lines.js";
import { wordRecall } from "../../src/tools/ocr/word-recall.js";
import { type SynthGroup, syntheticImages } from "./_synthetic-set.js";

/**
 * Chooses the space-decoding settings (see insertSpaces) on the TUNE set only: strict word recall per group
 * for each setting. The judge set is never read here; bench/ocr/unseen-text.ts reports both sets.
 * `node --import tsx bench/ocr/_tune-decoding.ts [settings] [count, default 12]`, settings as
 * `min/sure/ratio;...`, e.g. `0.005/1/0;0.005/0.1/1.2`.
 */
const settings = (process.argv[2] ?? "0.003/1/0;0.005/1/0;0.01/1/0;0.03/1/0;1/1/0").split(";").map((s) => {
  const [min, sure, ratio] = s.split("/").map(Number);
  return { minSpaceProbability: min!, sureSpaceProbability: sure!, spacePitchRatio: ratio! };
});
const count = Number(process.argv[3] ?? 12);
const groups: SynthGroup[] = ["documents", "scene"];
const sets = await Promise.all(groups.map((g) => syntheticImages(g, "tune", count)));
console.log("| min P(space) | sure P(space) | pitch ratio | documents strict | scene strict |\n|---|---|---|---|---|");
for (const setting of settings) {
  const read: PpOcrReadOptions = { ...defaultPpOcrReadOptions, ...setting };
  const engine = await createLocalOcrEngine({ threads: 2, read });
  const cells: string[] = [];
  for (const images of sets) {
    let found = 0;
    let total = 0;
    for (const image of images) {
      const result = await engine.recognize(image.bytes);
      const truth = image.lines.flatMap((l) => l.split(/\s+/u)).filter((w) => w !== "");
      const r = wordRecall(
        truth,
        result.lines.map((l) => l.words.map((w) => w.text)),
        { joinWords: false, keepCase: true },
      );
      found += r.found;
      total += r.total;
      if (process.env.SHOW) console.log(image.name, r.missing.join(" "));
    }
    cells.push(`${((found / total) * 100).toFixed(1)}%`);
  }
  await engine.close();
  console.log(
    `| ${setting.minSpaceProbability} | ${setting.sureSpaceProbability} | ${setting.spacePitchRatio} | ${cells.join(" | ")} |`,
  );
}
