import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { SquintError } from "../errors.js";

/**
 * An eval suite: JSONL, one item per line — images (paths relative to the suite file), a question, and the
 * truth in one of five kinds that can be scored without a judge model:
 *
 * - `choice`: a multiple-choice letter; the options are listed in the item and the prompt.
 * - `text`: one of the accepted answers, compared exactly or after normalisation.
 * - `box`: a box in the original image's pixels; correct when the answer's box has IoU ≥ `iou` (0.5) with one.
 * - `point`: the ScreenSpot rule — correct when the answered point (or a box's centre) lies inside a box.
 * - `words`: the words an OCR answer should contain; the score is word recall, correct at ≥ `minRecall`.
 *
 * A suite directory holds one or more `*.jsonl` files (read in name order). Every bad line is reported with
 * its file and line number, all at once, so a suite can be fixed in one pass.
 */

const pixelBox = z
  .tuple([z.number(), z.number(), z.number(), z.number()])
  .refine(([x1, y1, x2, y2]) => x2 > x1 && y2 > y1, "a box is [x1, y1, x2, y2] with x2 > x1 and y2 > y1");

const imageIndex = z.number().int().min(0).default(0);

export const truthSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("choice"),
    /** The correct option's letter (A for the first option). */
    answer: z.string().regex(/^[A-Z]$/, "a choice answer is one capital letter, A for the first option"),
  }),
  z.strictObject({
    type: z.literal("text"),
    /** Accepted answers (any one is right). */
    answers: z.array(z.string().trim().min(1)).min(1),
    /** "normalised" (default): case, punctuation and spacing do not count; "exact": the trimmed text must match. */
    match: z.enum(["normalised", "exact"]).default("normalised"),
  }),
  z.strictObject({
    type: z.literal("box"),
    /** Acceptable boxes, in pixels of image `image` (several when the target has several instances). */
    boxes: z.array(pixelBox).min(1),
    image: imageIndex,
    iou: z.number().gt(0).max(1).default(0.5),
  }),
  z.strictObject({
    type: z.literal("point"),
    /** Target boxes in pixels of image `image`: the answered point must fall inside one. */
    boxes: z.array(pixelBox).min(1),
    image: imageIndex,
  }),
  z.strictObject({
    type: z.literal("words"),
    words: z.array(z.string().trim().min(1)).min(1),
    minRecall: z.number().gt(0).max(1).default(0.5),
  }),
]);

export type Truth = z.infer<typeof truthSchema>;
export type TruthType = Truth["type"];

const itemSchema = z
  .strictObject({
    id: z.string().trim().min(1),
    /** One path (shorthand for a one-image list) or several, relative to the suite file. */
    image: z.string().min(1).optional(),
    images: z.array(z.string().min(1)).min(1).optional(),
    question: z.string().trim().min(1),
    /** The options of a `choice` item, in letter order. */
    options: z.array(z.string().trim().min(1)).min(2).max(26).optional(),
    truth: truthSchema,
    category: z.string().trim().min(1).default("all"),
    source: z.string().optional(),
    licence: z.string().optional(),
    /** sha256 of each image file, checked when present (a suite that ships images pins them). */
    sha256: z.array(z.string().regex(/^[0-9a-f]{64}$/)).optional(),
    /** Anything else the suite wants to keep with the item; ignored by the harness. */
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((item, ctx) => {
    if ((item.image === undefined) === (item.images === undefined)) {
      ctx.addIssue({ code: "custom", message: "give either image or images (not both)", path: ["images"] });
    }
    const count = item.images?.length ?? 1;
    if (item.truth.type === "choice") {
      if (!item.options) {
        ctx.addIssue({ code: "custom", message: "a choice item lists its options", path: ["options"] });
      } else if (item.truth.answer.charCodeAt(0) - 65 >= item.options.length) {
        ctx.addIssue({
          code: "custom",
          message: `answer ${item.truth.answer} is past the ${item.options.length} options`,
          path: ["truth", "answer"],
        });
      }
    } else if (item.options) {
      ctx.addIssue({ code: "custom", message: "only choice items have options", path: ["options"] });
    }
    if ((item.truth.type === "box" || item.truth.type === "point") && item.truth.image >= count) {
      ctx.addIssue({
        code: "custom",
        message: `image ${item.truth.image} is past the item's ${count} image(s)`,
        path: ["truth", "image"],
      });
    }
    if (item.sha256 && item.sha256.length !== count) {
      ctx.addIssue({ code: "custom", message: "sha256 needs one hash per image", path: ["sha256"] });
    }
  });

export interface SuiteItem {
  id: string;
  /** Absolute paths. */
  images: string[];
  question: string;
  options?: string[];
  truth: Truth;
  category: string;
  source?: string;
  licence?: string;
  /** Where it was read from, for messages. */
  origin: { file: string; line: number };
}

export interface Suite {
  /** The file or directory given. */
  path: string;
  files: string[];
  items: SuiteItem[];
  /** sha256 over the suite files' bytes, so a report knows which suite it scored. */
  sha256: string;
}

export interface SuiteLineError {
  file: string;
  line: number;
  message: string;
}

/** Most line errors listed in one message (all are in `details.errors`). */
const ERRORS_SHOWN = 20;

function suiteFiles(target: string): string[] {
  if (!existsSync(target)) {
    throw new SquintError("NOT_FOUND", `No suite at ${target}.`, {
      hint: "Give a .jsonl suite file or a directory of them (e.g. suites/needle).",
    });
  }
  if (!statSync(target).isDirectory()) return [path.resolve(target)];
  const files = readdirSync(target)
    .filter((name) => name.endsWith(".jsonl"))
    .sort()
    .map((name) => path.resolve(target, name));
  if (files.length === 0) {
    throw new SquintError("NOT_FOUND", `The directory ${target} holds no .jsonl suite file.`, {
      hint: "Put one item per line in a file ending .jsonl.",
    });
  }
  return files;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  return `${where}${issue.message}`;
}

function fileSha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** Reads and checks a suite; throws one INVALID_ARGUMENT listing every bad line (file:line: what is wrong). */
export function loadSuite(target: string): Suite {
  const files = suiteFiles(target);
  const items: SuiteItem[] = [];
  const errors: SuiteLineError[] = [];
  const seen = new Map<string, string>();
  const hash = createHash("sha256");
  for (const file of files) {
    const bytes = readFileSync(file);
    hash.update(path.basename(file)).update("\0").update(bytes);
    const lines = bytes.toString("utf8").split("\n");
    const display = path.relative(process.cwd(), file) || file;
    lines.forEach((text, index) => {
      const line = index + 1;
      if (text.trim() === "") return;
      const fail = (message: string) => errors.push({ file: display, line, message });
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        fail(`not JSON (${error instanceof Error ? error.message : String(error)})`);
        return;
      }
      const parsed = itemSchema.safeParse(value);
      if (!parsed.success) {
        fail(parsed.error.issues.map(describeIssue).join("; "));
        return;
      }
      const item = parsed.data;
      const earlier = seen.get(item.id);
      if (earlier) {
        fail(`id "${item.id}" is already used at ${earlier}`);
        return;
      }
      seen.set(item.id, `${display}:${line}`);
      const images = (item.images ?? [item.image as string]).map((image) => path.resolve(path.dirname(file), image));
      const missing = images.filter((image) => !existsSync(image));
      if (missing.length > 0) {
        fail(`image not found: ${missing.map((image) => path.relative(path.dirname(file), image)).join(", ")}`);
        return;
      }
      if (item.sha256) {
        const wrong = images.filter((image, i) => fileSha256(image) !== item.sha256?.[i]);
        if (wrong.length > 0) {
          fail(
            `image bytes differ from the sha256 in the suite: ${wrong.map((image) => path.basename(image)).join(", ")}`,
          );
          return;
        }
      }
      items.push({
        id: item.id,
        images,
        question: item.question,
        ...(item.options ? { options: item.options } : {}),
        truth: item.truth,
        category: item.category,
        ...(item.source === undefined ? {} : { source: item.source }),
        ...(item.licence === undefined ? {} : { licence: item.licence }),
        origin: { file: display, line },
      });
    });
  }
  if (errors.length > 0) {
    const shown = errors.slice(0, ERRORS_SHOWN).map((error) => `  ${error.file}:${error.line}: ${error.message}`);
    const more = errors.length > ERRORS_SHOWN ? [`  … and ${errors.length - ERRORS_SHOWN} more`] : [];
    throw new SquintError(
      "INVALID_ARGUMENT",
      `The suite has ${errors.length} bad line${errors.length === 1 ? "" : "s"}:\n${[...shown, ...more].join("\n")}`,
      {
        hint: errors.some((error) => error.message.startsWith("image not found"))
          ? "Fix the lines listed. The needle suite renders its images on your machine first: npm run suites."
          : "Fix the lines listed (the format is in the README, section `squint eval`).",
        details: { errors },
      },
    );
  }
  if (items.length === 0) {
    throw new SquintError("INVALID_ARGUMENT", `The suite ${target} has no items.`, {
      hint: "Write one JSON item per line.",
    });
  }
  return { path: path.resolve(target), files, items, sha256: hash.digest("hex") };
}
