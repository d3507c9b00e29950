import { mkdirSync, writeFileSync } from "node:fs";
import { type SynthGroup, type SynthSet, syntheticImages } from "./_synthetic-set.js";

/**
 * Writes rendered images of the synthetic set to bench/out/synthetic/ (JPEG + the truth lines), to look at
 * what the bench reads. `node --import tsx bench/ocr/_show-set.ts [group, default scene] [set, default judge] [count, default 8]`
 */
const group = (process.argv[2] ?? "scene") as SynthGroup;
const set = (process.argv[3] ?? "judge") as SynthSet;
const count = Number(process.argv[4] ?? 8);
const dir = new URL("../out/synthetic/", import.meta.url);
mkdirSync(dir, { recursive: true });
for (const image of await syntheticImages(group, set, count)) {
  writeFileSync(new URL(`${image.name}.jpg`, dir), image.bytes);
  writeFileSync(new URL(`${image.name}.txt`, dir), `${image.lines.join("\n")}\n`);
  console.log(image.name, JSON.stringify(image.lines));
}
