import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { createAgent } from "../../../src/agent/agent.js";
import { renderTraceReport } from "../../../src/agent/trace/report.js";
import { answerReply, ScriptedBackend, type ScriptEntry, toolCallReply } from "../../support/scripted-backend.js";
import { syntheticPhoto } from "../fixtures.js";

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((candidate) => existsSync(candidate));

async function reportFor(script: ScriptEntry[]): Promise<string> {
  const agent = await createAgent({ model: new ScriptedBackend(script) });
  try {
    const result = await agent.run({ images: [await syntheticPhoto()], prompt: "What colour is the block?" }).result;
    return await renderTraceReport(result, agent.store, { question: "What colour is the block?" });
  } finally {
    await agent.close();
  }
}

/** Renders the HTML in headless Chromium and returns the screenshot's RGB pixels. */
async function screenshot(html: string): Promise<{ data: Buffer; width: number; height: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), "squint-trace-"));
  const file = path.join(dir, "run.html");
  const png = path.join(dir, "shot.png");
  writeFileSync(file, html);
  const run = spawnSync(
    chromium as string,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      `--user-data-dir=${path.join(dir, "profile")}`,
      "--hide-scrollbars",
      "--window-size=1400,1000",
      `--screenshot=${png}`,
      `file://${file}`,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  expect(existsSync(png), run.stderr).toBe(true);
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function pixelsWhere(
  shot: { data: Buffer; width: number; height: number },
  test: (r: number, g: number, b: number) => boolean,
) {
  const points: Array<[number, number]> = [];
  for (let y = 0; y < shot.height; y++) {
    for (let x = 0; x < shot.width; x++) {
      const i = (y * shot.width + x) * 3;
      if (test(shot.data[i], shot.data[i + 1], shot.data[i + 2])) points.push([x, y]);
    }
  }
  return points;
}

const isMagenta = (r: number, g: number, b: number) => r > 200 && g < 80 && b > 200;
const isRed = (r: number, g: number, b: number) => r > 180 && g < 70 && b < 70;

describe("trace report", () => {
  it("is self-contained HTML with each step, call, timing and token count", async () => {
    const html = await reportFor([
      toolCallReply("Small block.", "image_zoom_in_tool", {
        bbox_2d: [500, 300, 600, 500],
        label: "block",
        img_idx: 0,
      }),
      answerReply("It is red.", "Red."),
    ]);
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(html).toContain("Step 1");
    expect(html).toContain("Step 2");
    expect(html).toContain("image_zoom_in_tool");
    expect(html).toMatch(/prompt \d+ tokens · completion \d+ tokens/);
    expect(html).toContain("Small block.");
    expect(html.match(/<img src="data:image\/jpeg;base64,/g)).toHaveLength(2);
  });

  it.runIf(chromium)(
    "draws each crop as a box on its parent, where the crop came from (headless Chromium)",
    async () => {
      const withCrop = await screenshot(
        await reportFor([
          toolCallReply("Small block.", "image_zoom_in_tool", {
            bbox_2d: [500, 300, 600, 500],
            label: "block",
            img_idx: 0,
          }),
          answerReply("", "Red."),
        ]),
      );
      const magenta = pixelsWhere(withCrop, isMagenta);
      expect(magenta.length).toBeGreaterThan(200);
      // The box encloses the red block the crop was taken of: its centre is red.
      const xs = magenta.map(([x]) => x);
      const ys = magenta.map(([, y]) => y);
      const inFirstFigure = magenta.filter(([x]) => x < Math.min(...xs) + 400);
      const cx = Math.round(
        (Math.min(...inFirstFigure.map(([x]) => x)) + Math.max(...inFirstFigure.map(([x]) => x))) / 2,
      );
      const cy = Math.round((Math.min(...ys) + Math.max(...ys)) / 2);
      const i = (cy * withCrop.width + cx) * 3;
      expect(isRed(withCrop.data[i], withCrop.data[i + 1], withCrop.data[i + 2])).toBe(true);

      // Control: a run without crops draws no box.
      const withoutCrop = await screenshot(await reportFor([answerReply("", "Red.")]));
      expect(pixelsWhere(withoutCrop, isMagenta).length).toBe(0);
      expect(pixelsWhere(withoutCrop, isRed).length).toBeGreaterThan(100);
    },
  );
  if (!chromium) console.warn("skipped the Chromium trace test: no chromium binary (apt-get install chromium)");
});
