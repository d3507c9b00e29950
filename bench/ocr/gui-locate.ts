import { readFileSync } from "node:fs";
import { createToolContext, type OcrFunction } from "../../src/tools/context.js";
import { type Box, boxCenter, unionBox } from "../../src/tools/geometry.js";
import { locateTool, textTarget } from "../../src/tools/locate.js";
import { createLocalOcrEngine } from "../../src/tools/ocr/local-engine.js";
import { defaultPpOcrReadOptions } from "../../src/tools/ocr/ppocr/read-lines.js";
import type { OcrLine, OcrResult } from "../../src/tools/ocr/types.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { isHit, loadGuiTextTargets } from "../../test/tools/gui-text-targets.js";
import { sharedRoot } from "../../test/support/cli.js";

/**
 * Text locate on the GUI screenshots of ../shared/data/gui (test/tools/gui-text-targets.ts: the pages' own
 * visible texts and their boxes): how often the first match's centre lands in the text's box.
 *
 * - before: the OCR decoding and the matcher locate had before issue 11 (the matcher is kept below, as it
 *   was: the shortest run of words whose joined text contains the query, best confidence first);
 * - now: the `locate` tool with the built-in OCR as it is.
 *
 * `node --import tsx bench/ocr/gui-locate.ts`
 */
const norm = (text: string) =>
  text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "");

/** locate's OCR matcher before issue 11 (src/tools/locate.ts at 91a36ac). */
function matchBefore(line: OcrLine, target: string): { box: Box; confidence: number } | undefined {
  if (!norm(line.text).includes(target)) return undefined;
  let best: OcrLine["words"] | undefined;
  for (let start = 0; start < line.words.length; start++) {
    let joined = "";
    for (let end = start; end < line.words.length; end++) {
      joined += norm(line.words[end]!.text);
      if (joined.includes(target)) {
        if (!best || end - start + 1 < best.length) best = line.words.slice(start, end + 1);
        break;
      }
    }
  }
  return best
    ? { box: unionBox(best.map((w) => w.box)), confidence: Math.min(...best.map((w) => w.confidence)) }
    : { box: line.box, confidence: line.confidence };
}

const targets = loadGuiTextTargets();
const files = [...new Set(targets.map((t) => t.file))];
const oldEngine = await createLocalOcrEngine({
  threads: 2,
  read: { ...defaultPpOcrReadOptions, minSpaceProbability: 1, script: "chinese", fixLetterDigit: false },
});
const newEngine = await createLocalOcrEngine({ threads: 2 });
const perFile: string[] = [];
let hitsBefore = 0;
let hitsNow = 0;
const misses: string[] = [];
for (const file of files) {
  const bytes = readFileSync(`${sharedRoot}data/${file}`);
  const mine = targets.filter((t) => t.file === file);
  const t0 = performance.now();
  const oldResult: OcrResult = await oldEngine.recognize(bytes);
  const t1 = performance.now();
  const store = new ImageStore();
  const image = await store.ingest(bytes);
  let reads = 0;
  let readMs = 0;
  const ocr: OcrFunction = async (pixels, signal, options) => {
    reads++;
    const s = performance.now();
    const result = await newEngine.recognize(pixels, { ...(signal ? { signal } : {}), ...options });
    readMs += performance.now() - s;
    return result;
  };
  const context = createToolContext({ store, ocr });
  let before = 0;
  let now = 0;
  for (const target of mine) {
    const wanted = norm(textTarget(`"${target.label}"`));
    const old = oldResult.lines
      .map((line) => matchBefore(line, wanted))
      .filter((m) => m !== undefined)
      .sort((p, q) => q.confidence - p.confidence)[0];
    const oldCenter = old ? boxCenter(old.box) : undefined;
    if (isHit(target, oldCenter ? [oldCenter.x, oldCenter.y] : undefined)) before++;
    const parsed = locateTool.inputSchema.parse({ query: `"${target.label}"`, image: image.id, mode: "ocr" });
    const result = await locateTool.run(parsed, context, {});
    const center = result.structured.matches[0]?.center;
    if (isHit(target, center)) now++;
    else
      misses.push(
        `${file.replace("gui/", "")}: "${target.label}" → ${result.structured.matches[0]?.text ?? "not found"}`,
      );
  }
  hitsBefore += before;
  hitsNow += now;
  perFile.push(
    `| ${file.replace("gui/", "")} | ${mine.length} | ${before} | ${now} | ${((t1 - t0) / 1000).toFixed(1)} s | ${(readMs / 1000).toFixed(1)} s (${reads} read) |`,
  );
}
await oldEngine.close();
await newEngine.close();
console.log("| screenshot | texts | hits before | hits now | OCR before | OCR now |\n|---|---|---|---|---|---|");
console.log(perFile.join("\n"));
const pct = (n: number) => `${((n / targets.length) * 100).toFixed(1)}%`;
console.log(`| all | ${targets.length} | ${hitsBefore} (${pct(hitsBefore)}) | ${hitsNow} (${pct(hitsNow)}) | | |`);
if (process.env.SHOW) console.log(`\nmisses now:\n${misses.join("\n")}`);
