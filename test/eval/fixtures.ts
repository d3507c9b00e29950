import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import type { CliIO } from "../../src/cli/command.js";
import type { SuiteItem } from "../../src/eval/suite.js";
import type { GenerateRequest } from "../../src/runtime/backend.js";
import {
  answerReply,
  ScriptedBackend,
  type ScriptedBackendOptions,
  toolCallReply,
} from "../support/scripted-backend.js";

/**
 * A multiple-choice suite of `count` items (item-0 … item-N, truth always B, categories "even"/"odd") over one
 * small image, and a backend whose answers the test decides: `loopRight(i)` / `directRight(i)` say whether
 * item i gets B or C in each mode. In loop mode the backend zooms once before it answers, as a model would.
 */

export const OPTIONS = ["red", "green", "blue", "yellow"];

export async function writeChoiceSuite(count: number, dir = mkdtempSync(path.join(tmpdir(), "squint-eval-"))) {
  const image = await sharp({ create: { width: 320, height: 240, channels: 3, background: "#468" } })
    .png()
    .toBuffer();
  writeFileSync(path.join(dir, "photo.png"), image);
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      id: `item-${i}`,
      image: "photo.png",
      question: `Which colour does item-${i} show?`,
      options: OPTIONS,
      truth: { type: "choice", answer: "B" },
      category: i % 2 === 0 ? "even" : "odd",
    }),
  );
  const file = path.join(dir, "suite.jsonl");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return { dir, file };
}

export function itemNumber(prompt: string): number {
  const match = /item-(\d+)/.exec(prompt);
  if (!match) throw new Error("no item number in the prompt");
  return Number(match[1]);
}

export function controlledBackend(
  loopRight: (item: number) => boolean,
  directRight: (item: number) => boolean,
  options: ScriptedBackendOptions = {},
): ScriptedBackend {
  const answer = (right: boolean) => answerReply("Looking at it.", right ? "B" : "C");
  return new ScriptedBackend(
    [
      (request, prompt) =>
        request.tools
          ? toolCallReply("Zoom first.", "image_zoom_in_tool", {
              bbox_2d: [0, 0, 500, 500],
              label: "corner",
              img_idx: 0,
            })
          : answer(directRight(itemNumber(prompt))),
      (_request, prompt) => answer(loopRight(itemNumber(prompt))),
    ],
    options,
  );
}

/** A CliIO that keeps what is written. */
export function captureIO(isTTY = false): CliIO & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  const stream = (append: (text: string) => void) =>
    ({
      write(chunk: string | Uint8Array) {
        append(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
        return true;
      },
    }) as unknown as NodeJS.WritableStream;
  return {
    stdout: stream((text) => {
      out += text;
    }),
    stderr: stream((text) => {
      err += text;
    }),
    isTTY,
    out: () => out,
    err: () => err,
  };
}

/**
 * A backend that answers every item of a suite with its truth, written the way Qwen3-VL writes it (a letter,
 * the first accepted text, `bbox_2d` / `point_2d` in 0–1000 of the image, the words on lines). Items are
 * recognised by their first image's pixels and their question, so a suite's truth, its images and the
 * scorer are checked against each other: anything but 100% means one of them is wrong.
 */
export async function oracleBackend(items: readonly SuiteItem[]): Promise<ScriptedBackend> {
  const key = (data: Uint8Array, width: number) =>
    `${width}:${createHash("sha1")
      .update(data.subarray(0, 4 << 20))
      .digest("hex")}`;
  const byImage = new Map<string, SuiteItem[]>();
  for (const item of items) {
    const { data, info } = await sharp(item.images[0] as string)
      .rotate()
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const list = byImage.get(key(data, info.width)) ?? [];
    list.push(item);
    byImage.set(key(data, info.width), list);
  }
  return new ScriptedBackend(
    [
      async (request: GenerateRequest, prompt: string) => {
        const user = request.messages.find((message) => message.role === "user");
        const part = Array.isArray(user?.content) ? user.content.find((p) => p.type === "image") : undefined;
        if (part?.type !== "image") throw new Error("no image");
        const image = await request.resolveImage(part.image);
        const item = byImage.get(key(image.data, image.width))?.find((entry) => prompt.includes(`${entry.question}\n`));
        if (!item) throw new Error("the oracle does not know this item");
        const rel = (box: readonly number[]) => {
          const [x1, y1, x2, y2] = box as [number, number, number, number];
          return [x1 / image.width, y1 / image.height, x2 / image.width, y2 / image.height].map((v) =>
            Math.round(v * 1000),
          );
        };
        const truth = item.truth;
        switch (truth.type) {
          case "choice":
            return answerReply("Known.", truth.answer);
          case "text":
            return answerReply("Known.", truth.answers[0] as string);
          case "words":
            return answerReply("Known.", truth.words.join("\n"));
          case "box":
            return answerReply("Known.", `{"bbox_2d": [${rel(truth.boxes[0] as number[]).join(", ")}]}`);
          case "point": {
            const [x1, y1, x2, y2] = rel(truth.boxes[0] as number[]) as [number, number, number, number];
            return answerReply("Known.", `{"point_2d": [${Math.round((x1 + x2) / 2)}, ${Math.round((y1 + y2) / 2)}]}`);
          }
        }
      },
    ],
    { resolveImages: false },
  );
}
