/**
 * Generates suites/shared-data from ../shared/data/MANIFEST.json: one JSONL per folder (detail, grounding,
 * gui, ocr), each item built only from truth the manifest states (its `truth` and, where the curator checked
 * details by eye, its `notes`), with every image's sha256 pinned. Paths point at ../shared/data beside the
 * checkout, where the project keeps its licence-checked test images. Left out, with the reason:
 * - detail photos whose source states no answer (five of the V* demo images);
 * - the bank statement, whose "truth" is Tesseract's output with its misreads, not a transcription;
 * - ICDAR regions marked ### (illegible) and WildReceipt boxes without text (already dropped in the manifest).
 *
 *   node --import tsx scripts/eval-suites/shared-data.ts [--data ../shared/data] [--out suites/shared-data]
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";

const boxSchema = z.looseObject({ label: z.string(), x1: z.number(), y1: z.number(), x2: z.number(), y2: z.number() });

const entrySchema = z.looseObject({
  file: z.string(),
  category: z.string(),
  source_repo: z.string(),
  licence: z.string(),
  truth: z.looseObject({
    question: z.string().optional(),
    answer: z.string().optional(),
    text: z.string().optional(),
    qa: z.array(z.object({ question: z.string(), answer: z.string() })).optional(),
    boxes: z.array(boxSchema).optional(),
  }),
});

export type ManifestEntry = z.infer<typeof entrySchema>;

/** Answers the manifest gives in prose (the curator's notes or a sentence), as short accepted answers. */
const DETAIL_ITEMS: Record<string, Array<{ question: string; answers: string[] }>> = {
  "detail/qwen-agent-hop-inn-pub.jpg": [
    { question: "What is the registration number on the black car's number plate?", answers: ["BW14 WDZ"] },
    { question: "What is the name of the pub on the hanging sign?", answers: ["Hop Inn", "The Hop Inn"] },
    { question: "What telephone number is printed on the green and white banners?", answers: ["02380 557723"] },
  ],
  "detail/vstar-anime-room-glass.jpg": [{ question: "What color is the liquid in the glass?", answers: ["green"] }],
};

const SKIPPED = new Set(["ocr/tesseractjs-bank-statement.png"]);

interface Line {
  id: string;
  image: string;
  question: string;
  truth: Record<string, unknown>;
  category: string;
  source: string;
  licence: string;
  sha256: string[];
}

const round = (value: number) => Math.round(value * 100) / 100;
const stem = (file: string) => path.basename(file).replace(/\.[a-z]+$/i, "");

export function sharedDataItems(manifest: unknown, dataDir: string, imagePrefix: string): Record<string, Line[]> {
  const entries = z.array(entrySchema).parse(manifest);
  const out: Record<string, Line[]> = { detail: [], grounding: [], gui: [], ocr: [] };
  for (const entry of entries) {
    if (SKIPPED.has(entry.file)) continue;
    const sha = createHash("sha256")
      .update(readFileSync(path.join(dataDir, entry.file)))
      .digest("hex");
    const base = {
      image: `${imagePrefix}/${entry.file}`,
      category: entry.category,
      source: `${entry.source_repo} (../shared/data/MANIFEST.json)`,
      licence: entry.licence,
      sha256: [sha],
    };
    const bucket = out[entry.category];
    if (!bucket) continue;
    const truth = entry.truth;
    const boxes = truth.boxes ?? [];
    const valid = boxes.filter((box) => box.x2 > box.x1 && box.y2 > box.y1);
    switch (entry.category) {
      case "detail":
        (DETAIL_ITEMS[entry.file] ?? []).forEach((item, i) => {
          bucket.push({
            id: `detail-${stem(entry.file)}-${i}`,
            ...base,
            question: item.question,
            truth: { type: "text", answers: item.answers },
          });
        });
        break;
      case "grounding": {
        const labels = [...new Set(valid.map((box) => box.label))];
        for (const label of labels) {
          const mine = valid.filter((box) => box.label === label);
          bucket.push({
            id: `grounding-${stem(entry.file)}-${label.replace(/\W+/g, "-")}`,
            ...base,
            question: mine.length > 1 ? `Locate one ${label} in the image.` : `Locate the ${label} in the image.`,
            truth: { type: "box", boxes: mine.map((box) => [box.x1, box.y1, box.x2, box.y2].map(round)) },
          });
        }
        break;
      }
      case "gui": {
        // A label that names several elements (a "1" on each of several carousel dots, a menu entry that is also a
        // heading) is one item whose every instance counts: asking for one of them alone would be ambiguous.
        const labels = [...new Set(valid.map((box) => box.label.trim()))];
        for (const label of labels) {
          const mine = valid.filter((box) => box.label.trim() === label);
          bucket.push({
            id: `gui-${stem(entry.file)}-${valid.indexOf(mine[0] as (typeof valid)[number])}`,
            ...base,
            question: `Find this element on the screen: ${label}`,
            truth: { type: "point", boxes: mine.map((box) => [box.x1, box.y1, box.x2, box.y2].map(round)) },
          });
        }
        break;
      }
      case "ocr": {
        const qa =
          truth.qa ?? (truth.question && truth.answer ? [{ question: truth.question, answer: truth.answer }] : []);
        qa.forEach((pair, i) => {
          bucket.push({
            id: `ocr-${stem(entry.file)}-qa${i}`,
            ...base,
            question: pair.question,
            truth: { type: "text", answers: [pair.answer] },
          });
        });
        const words = truth.text
          ? truth.text.split(/\s+/u).filter((word) => /[\p{L}\p{N}]/u.test(word))
          : valid.map((box) => box.label).filter((label) => /[\p{L}\p{N}]/u.test(label) && !/^#+$/.test(label));
        if (words.length > 0) {
          bucket.push({
            id: `ocr-${stem(entry.file)}-words`,
            ...base,
            question: "Read the text in this image.",
            truth: { type: "words", words },
          });
        }
        break;
      }
    }
  }
  return out;
}

async function main() {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "../shared/data" },
      out: { type: "string", default: "suites/shared-data" },
    },
  });
  const out = path.resolve(values.out);
  const data = path.resolve(values.data);
  const manifest = JSON.parse(readFileSync(path.join(data, "MANIFEST.json"), "utf8")) as unknown;
  mkdirSync(out, { recursive: true });
  const prefix = path.relative(out, data).split(path.sep).join("/");
  for (const [name, lines] of Object.entries(sharedDataItems(manifest, data, prefix))) {
    writeFileSync(path.join(out, `${name}.jsonl`), `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`);
    process.stderr.write(`${name}.jsonl: ${lines.length} items\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
