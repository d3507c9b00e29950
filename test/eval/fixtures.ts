import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import type { CliIO } from "../../src/cli/command.js";
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
