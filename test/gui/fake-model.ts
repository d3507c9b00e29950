import type { RawImage } from "../../src/model/vision.js";
import type { GenerateRequest } from "../../src/runtime/backend.js";
import { defaultOcrFunction } from "../../src/tools/ocr/index.js";
import { ScriptedBackend } from "../support/scripted-backend.js";
import { ICON_COLOURS } from "./test-page.js";

/**
 * A stand-in for Qwen3-VL whose answers come from the pixels it is shown, in Qwen3-VL's formats: grounding
 * answers as ```json [{"bbox_2d": [0–1000…], "label"}]``` on the image it was given (a whole screenshot or a
 * crop of one), verdicts and queries as JSON. It finds the two icons by their colours, reads text with the
 * OCR engine, and knows a few descriptions by the text they stand for. Nothing here knows where anything is
 * on the page: a wrong scale or crop mapping in Squint makes its (right) answers land wrong.
 */

const DESCRIPTIONS: [RegExp, string][] = [
  [/full name/i, "Full name"],
  [/email/i, "Email address"],
  [/send|submit/i, "Send"],
  [/load/i, "Load report"],
];

function colourBox(image: RawImage, rgb: readonly number[]): [number, number, number, number] | undefined {
  let x1 = Number.POSITIVE_INFINITY;
  let y1 = Number.POSITIVE_INFINITY;
  let x2 = -1;
  let y2 = -1;
  const channels = image.data.length / (image.width * image.height);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const at = (y * image.width + x) * channels;
      if (
        Math.abs(image.data[at]! - rgb[0]!) < 40 &&
        Math.abs(image.data[at + 1]! - rgb[1]!) < 40 &&
        Math.abs(image.data[at + 2]! - rgb[2]!) < 40
      ) {
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
  }
  return x2 < 0 ? undefined : [x1, y1, x2, y2];
}

function rel1000(box: readonly number[], image: RawImage): number[] {
  return [
    Math.round((box[0]! / image.width) * 1000),
    Math.round((box[1]! / image.height) * 1000),
    Math.round((box[2]! / image.width) * 1000),
    Math.round((box[3]! / image.height) * 1000),
  ];
}

async function textBox(image: RawImage, text: string): Promise<number[] | undefined> {
  const read = await defaultOcrFunction()(image);
  // OCR drops spaces now and then ("Emailaddress"): compare letters and digits only.
  const squash = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
  const wanted = squash(text);
  const line =
    read.lines.find((l) => squash(l.text) === wanted) ?? read.lines.find((l) => squash(l.text).includes(wanted));
  return line ? [line.box.x1, line.box.y1, line.box.x2, line.box.y2] : undefined;
}

function promptOf(request: GenerateRequest): string {
  const content = request.messages[0]!.content;
  if (typeof content === "string") return content;
  return content.map((part) => (part.type === "text" ? part.text : "")).join("");
}

async function imageOf(request: GenerateRequest): Promise<RawImage> {
  const content = request.messages[0]!.content;
  const part = typeof content === "string" ? undefined : content.find((p) => p.type === "image");
  if (part?.type !== "image") throw new Error("the fake model was sent no image");
  return request.resolveImage(part.image);
}

export interface FakeModelOptions {
  /** Replies to query prompts (default: reads "Report ready: N rows" off the screen). */
  queryReply?: (image: RawImage) => Promise<string>;
}

export function fakeGuiModel(options: FakeModelOptions = {}): ScriptedBackend {
  const answer = async (request: GenerateRequest): Promise<string> => {
    const prompt = promptOf(request);
    const image = await imageOf(request);
    const grounding = /^Detect all (.*) in the image/s.exec(prompt);
    if (grounding) {
      const what = grounding[1]!;
      let box: number[] | undefined;
      if (/settings|gear/i.test(what)) box = colourBox(image, ICON_COLOURS.settings);
      else if (/trash|bin/i.test(what)) box = colourBox(image, ICON_COLOURS.trash);
      else {
        const text = DESCRIPTIONS.find(([pattern]) => pattern.test(what))?.[1];
        box = text ? await textBox(image, text) : undefined;
      }
      return box
        ? `\`\`\`json\n[{"bbox_2d": [${rel1000(box, image).join(", ")}], "label": ${JSON.stringify(what)}}]\n\`\`\``
        : "I do not see it in this image.";
    }
    const statement = /Statement: (.*)\n/.exec(prompt);
    if (statement) {
      const quoted = /"([^"]+)"/.exec(statement[1]!)?.[1];
      if (!quoted) return '{"pass": false, "reason": "I cannot check that."}';
      const read = await defaultOcrFunction()(image);
      const squash = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
      const seen = read.lines.some((l) => squash(l.text).includes(squash(quoted)));
      return seen
        ? `{"pass": true, "reason": "The screen shows \\"${quoted}\\"."}`
        : `{"pass": false, "reason": "No text \\"${quoted}\\" is on the screen."}`;
    }
    if (options.queryReply) return options.queryReply(image);
    const read = await defaultOcrFunction()(image);
    const rows = read.lines.map((l) => /(\d+)\s*rows/i.exec(l.text)?.[1]).find((n) => n !== undefined);
    return rows ? `Here it is:\n\`\`\`json\n{"rows": ${rows}}\n\`\`\`` : "{}";
  };
  // Non-thinking replies; every request is a fresh one-turn conversation, so one entry answers all.
  return new ScriptedBackend([(request) => answer(request)], { thinking: false });
}
