import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { loadSuite } from "../../src/eval/suite.js";
import { DPRS, VIEWPORT } from "../../scripts/eval-suites/gui.js";
import {
  imageName,
  needleJsonl,
  planNeedles,
  renderNeedle,
  SIGN_RED,
  TARGET_MAGENTA,
} from "../../scripts/eval-suites/needle.js";
import { sharedDataItems } from "../../scripts/eval-suites/shared-data.js";
import { repoRoot, sharedRoot } from "../support/cli.js";
import { answerReply, ScriptedBackend, toolCallReply } from "../support/scripted-backend.js";
import { captureIO, oracleBackend } from "./fixtures.js";
import { evalWithBackend, parseEvalArgs } from "../../src/cli/commands/eval.js";
import type { GenerateRequest } from "../../src/runtime/backend.js";
import type { EvalReport } from "../../src/eval/report.js";

const suites = path.join(repoRoot, "suites");

function rgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)) as [number, number, number];
}

describe("the shipped suites", () => {
  it("needle: the committed JSONL is what the generator makes from its seed", () => {
    expect(readFileSync(path.join(suites, "needle/needle.jsonl"), "utf8")).toBe(needleJsonl());
  });

  it("needle: the target is where the truth says, and nowhere else has its colour", async () => {
    const plans = planNeedles(7, 4);
    // Item 0: a word on a red sign; item 3: a magenta shape. Both on 3840×2160 canvases.
    for (const plan of [plans[0], plans[3]]) {
      if (!plan) throw new Error("missing plan");
      const colour = rgb(plan.kind === "word" ? SIGN_RED : TARGET_MAGENTA);
      const { data, info } = await sharp(await renderNeedle(plan.svg))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([plan.size.width, plan.size.height]);
      const [x1, y1, x2, y2] = plan.box;
      let inside = 0;
      let outside = 0;
      for (let y = 0; y < info.height; y++) {
        for (let x = 0; x < info.width; x++) {
          const at = (y * info.width + x) * 3;
          const near =
            Math.abs((data[at] ?? 0) - colour[0]) < 40 &&
            Math.abs((data[at + 1] ?? 0) - colour[1]) < 40 &&
            Math.abs((data[at + 2] ?? 0) - colour[2]) < 40;
          if (!near) continue;
          if (x >= x1 - 1 && x <= x2 + 1 && y >= y1 - 1 && y <= y2 + 1) inside++;
          else outside++;
        }
      }
      expect(outside).toBe(0);
      // The target fills a good part of its box (a sign: most of it; a shape: at least its inner half).
      expect(inside).toBeGreaterThan(0.3 * (x2 - x1) * (y2 - y1));
    }
  }, 60_000);

  it("gui: pinned screenshots at DPR 1/2/3, viewport × DPR pixels, boxes = CSS boxes × DPR", async () => {
    const suite = loadSuite(path.join(suites, "gui"));
    expect(suite.items.length).toBe(45);
    const byTarget = new Map<string, Map<number, number[]>>();
    for (const item of suite.items) {
      const meta = JSON.parse(
        readFileSync(path.join(suites, "gui/gui.jsonl"), "utf8").split("\n")[item.origin.line - 1] as string,
      ).meta as { dpr: number; cssBox: number[] };
      const image = await sharp(item.images[0]).metadata();
      expect([image.width, image.height]).toEqual([VIEWPORT.width * meta.dpr, VIEWPORT.height * meta.dpr]);
      expect(item.category).toBe(`gui-dpr${meta.dpr}`);
      if (item.truth.type !== "point") throw new Error("gui items are point items");
      const box = item.truth.boxes[0] as number[];
      expect(box).toEqual(meta.cssBox.map((value) => Math.round(value * meta.dpr * 100) / 100));
      expect(box[2]).toBeLessThanOrEqual(image.width ?? 0);
      expect(box[3]).toBeLessThanOrEqual(image.height ?? 0);
      const key = item.id.replace(/-dpr\d/, "");
      const perDpr = byTarget.get(key) ?? new Map<number, number[]>();
      perDpr.set(meta.dpr, meta.cssBox);
      byTarget.set(key, perDpr);
    }
    // The same element has the same CSS box at every DPR (layout does not depend on it), to a pixel.
    for (const perDpr of byTarget.values()) {
      expect([...perDpr.keys()].sort()).toEqual([...DPRS]);
      const one = perDpr.get(1) as number[];
      for (const dpr of DPRS) {
        const box = perDpr.get(dpr) as number[];
        expect(Math.max(...box.map((value, k) => Math.abs(value - (one[k] ?? 0))))).toBeLessThanOrEqual(1);
      }
    }
  });

  it.skipIf(!existsSync(path.join(sharedRoot, "data/MANIFEST.json")))(
    "shared-data: the committed suite is the manifest's truth, and it loads with every image pinned",
    () => {
      const data = path.join(sharedRoot, "data");
      const manifest = JSON.parse(readFileSync(path.join(data, "MANIFEST.json"), "utf8")) as unknown;
      const items = sharedDataItems(manifest, data, "../../../shared/data");
      for (const [name, lines] of Object.entries(items)) {
        const committed = readFileSync(path.join(suites, `shared-data/${name}.jsonl`), "utf8");
        expect(committed).toBe(`${lines.map((line) => JSON.stringify(line)).join("\n")}\n`);
      }
      const suite = loadSuite(path.join(suites, "shared-data"));
      const count = (category: string) => suite.items.filter((item) => item.category === category).length;
      expect(count("detail")).toBe(4);
      expect(count("grounding")).toBe(6);
      expect(count("gui")).toBeGreaterThan(300);
      expect(count("ocr")).toBe(12);
      expect(suite.items.find((item) => item.id.includes("bank-statement"))).toBeUndefined();
    },
  );
});

/** A screenshot's identity: a hash of its first rows (the pages differ from their side menus down). */
const pixelKey = (data: Uint8Array) =>
  createHash("sha1")
    .update(data.subarray(0, 4 << 20))
    .digest("hex");

/** Which GUI item a request is about: its image (by pixel hash) and its instruction. */
async function guiOracle(mode: "right" | "css-pixels") {
  const suite = loadSuite(path.join(suites, "gui"));
  const byImage = new Map<string, string>();
  for (const file of new Set(suite.items.map((item) => item.images[0] as string))) {
    const { data } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    byImage.set(pixelKey(data), file);
  }
  const lines = readFileSync(path.join(suites, "gui/gui.jsonl"), "utf8").trim().split("\n");
  const cssBox = (line: number) => (JSON.parse(lines[line - 1] as string).meta as { cssBox: number[] }).cssBox;
  const answer = async (request: GenerateRequest, prompt: string) => {
    const user = request.messages.find((message) => message.role === "user");
    const part = Array.isArray(user?.content) ? user.content.find((p) => p.type === "image") : undefined;
    if (part?.type !== "image") throw new Error("no image");
    const image = await request.resolveImage(part.image);
    const file = byImage.get(pixelKey(image.data));
    const item = suite.items.find((entry) => entry.images[0] === file && prompt.includes(entry.question));
    if (item?.truth.type !== "point") throw new Error("unknown item");
    const [x1, y1, x2, y2] = mode === "right" ? (item.truth.boxes[0] as number[]) : cssBox(item.origin.line);
    const x = Math.round((((x1 ?? 0) + (x2 ?? 0)) / 2 / image.width) * 1000);
    const y = Math.round((((y1 ?? 0) + (y2 ?? 0)) / 2 / image.height) * 1000);
    return answerReply("Found it.", `{"point_2d": [${x}, ${y}]}`);
  };
  return { suite, cssBox, answer };
}

describe("the GUI suite scored end to end (direct mode, an oracle backend)", () => {
  it("answers at the truth box centres score 100%; answers in CSS pixels (the DPR bug) score exactly the geometric share", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "squint-gui-oracle-"));
    const run = async (mode: "right" | "css-pixels") => {
      const oracle = await guiOracle(mode);
      const out = path.join(root, mode);
      // The oracle decodes the one image it needs; the backend need not decode it again.
      const backend = new ScriptedBackend([oracle.answer], { thinking: true, resolveImages: false });
      const code = await evalWithBackend(
        backend,
        parseEvalArgs([path.join(suites, "gui"), "--mode", "direct", "--out", out]),
        captureIO(),
      );
      expect(code).toBe(0);
      return { oracle, report: JSON.parse(readFileSync(path.join(out, "report.json"), "utf8")) as EvalReportShape };
    };
    const right = await run("right");
    expect(right.report.overall.direct.accuracy).toMatchObject({ k: 45, n: 45 });
    expect(right.report.overall.direct.parseFailures).toBe(0);
    const css = await run("css-pixels");
    // By hand from the committed boxes: does the CSS centre fall inside the device-pixel box?
    for (const dpr of DPRS) {
      const items = css.oracle.suite.items.filter((item) => item.category === `gui-dpr${dpr}`);
      const hits = items.filter((item) => {
        const [x1, y1, x2, y2] = css.oracle.cssBox(item.origin.line) as [number, number, number, number];
        const [cx, cy] = [(x1 + x2) / 2, (y1 + y2) / 2];
        return cx >= x1 * dpr && cx <= x2 * dpr && cy >= y1 * dpr && cy <= y2 * dpr;
      }).length;
      expect(css.report.categories[`gui-dpr${dpr}`]?.direct.accuracy).toMatchObject({ k: hits, n: items.length });
      if (dpr === 1) expect(hits).toBe(items.length);
      else expect(hits).toBeLessThan(items.length / 2);
    }
  }, 120_000);
});

interface EvalReportShape {
  overall: { direct: { accuracy: { k: number; n: number }; parseFailures: number } };
  categories: Record<string, { direct: { accuracy: { k: number; n: number } } }>;
}

describe.skipIf(!existsSync(path.join(sharedRoot, "data/MANIFEST.json")))(
  "the shared-data suite scored end to end",
  () => {
    it("an oracle answering each item's truth as Qwen3-VL writes it scores 100% on detail, grounding, ocr and 15 gui items", async () => {
      const root = mkdtempSync(path.join(tmpdir(), "squint-shared-oracle-"));
      for (const name of ["detail", "grounding", "ocr", "gui"]) {
        const file = path.join(suites, `shared-data/${name}.jsonl`);
        const limit = name === "gui" ? ["--limit", "15"] : [];
        const suite = loadSuite(file);
        const backend = await oracleBackend(suite.items.slice(0, name === "gui" ? 15 : undefined));
        const out = path.join(root, name);
        expect(
          await evalWithBackend(
            backend,
            parseEvalArgs([file, "--mode", "direct", "--out", out, ...limit]),
            captureIO(),
          ),
        ).toBe(0);
        const report = JSON.parse(readFileSync(path.join(out, "report.json"), "utf8")) as EvalReport;
        const direct = report.overall.direct;
        expect(direct?.parseFailures, name).toBe(0);
        expect(direct?.accuracy.k, name).toBe(direct?.accuracy.n);
        expect(direct?.meanScore, name).toBe(1);
      }
    }, 120_000);
  },
);

describe("the needle suite through the loop (a model that sees the target only when it is in view)", () => {
  it("direct cannot read the 4K–8K target and guesses wrong; the loop zooms to it, finds the target in the crop, and is right", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "squint-needle-"));
    const lines = needleJsonl().trim().split("\n").slice(0, 3);
    writeFileSync(path.join(dir, "needle.jsonl"), `${lines.join("\n")}\n`);
    mkdirSync(path.join(dir, "images"));
    const plans = planNeedles(7, 3);
    for (const plan of plans) writeFileSync(path.join(dir, imageName(plan.index)), await renderNeedle(plan.svg));
    const items = lines.map(
      (line) =>
        JSON.parse(line) as { truth: { answer: string }; meta: { canvas: number[]; target: number[]; kind: string } },
    );
    const itemOf = (width: number) => items.find((item) => item.meta.canvas[0] === width);
    const imageParts = (request: GenerateRequest) =>
      request.messages.flatMap((message) =>
        Array.isArray(message.content) ? message.content.filter((part) => part.type === "image") : [],
      );
    const wrong = (answer: string) => (answer === "A" ? "B" : "A");
    /** Whether an image shows the target colour (a few pixels are enough to "read" it). */
    const showsTarget = (image: { data: Uint8Array }, kind: string) => {
      const [r, g, b] = rgb(kind === "word" ? SIGN_RED : TARGET_MAGENTA);
      let count = 0;
      for (let at = 0; at + 2 < image.data.length; at += 3) {
        if (
          Math.abs((image.data[at] ?? 0) - r) < 40 &&
          Math.abs((image.data[at + 1] ?? 0) - g) < 40 &&
          Math.abs((image.data[at + 2] ?? 0) - b) < 40
        )
          count++;
      }
      return count > 20;
    };
    const backend = new ScriptedBackend([
      async (request) => {
        const first = imageParts(request)[0];
        if (first?.type !== "image") throw new Error("no image");
        const original = await request.resolveImage(first.image);
        const item = itemOf(original.width);
        if (!item) throw new Error("unknown canvas");
        // Without tools the whole canvas is all there is: the target is a few pixels at any server budget.
        if (!request.tools) return answerReply("Too small to read.", wrong(item.truth.answer));
        const [x1, y1, x2, y2] = item.meta.target as [number, number, number, number];
        const [w, h] = item.meta.canvas as [number, number];
        const pad = 3 * Math.max(x2 - x1, y2 - y1);
        const bbox = [x1 - pad, y1 - pad, x2 + pad, y2 + pad].map((value, i) =>
          Math.round((Math.min(Math.max(value, 0), i % 2 === 0 ? w : h) / (i % 2 === 0 ? w : h)) * 1000),
        );
        return toolCallReply("Zoom in on the target.", "image_zoom_in_tool", {
          bbox_2d: bbox,
          label: "target",
          img_idx: 0,
        });
      },
      async (request) => {
        const parts = imageParts(request);
        const [first, crop] = [parts[0], parts.at(-1)];
        if (first?.type !== "image" || crop?.type !== "image" || parts.length < 2) throw new Error("no crop");
        const item = itemOf((await request.resolveImage(first.image)).width);
        if (!item) throw new Error("unknown canvas");
        const seen = showsTarget(await request.resolveImage(crop.image), item.meta.kind);
        return answerReply(
          seen ? "Now I can read it." : "Still nothing.",
          seen ? item.truth.answer : wrong(item.truth.answer),
        );
      },
    ]);
    const out = path.join(dir, "report");
    expect(await evalWithBackend(backend, parseEvalArgs([dir, "--out", out]), captureIO())).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, "report.json"), "utf8")) as EvalReport;
    expect(report.overall.loop?.accuracy).toMatchObject({ k: 3, n: 3 });
    expect(report.overall.direct?.accuracy).toMatchObject({ k: 0, n: 3 });
    expect(report.paired?.overall.table).toEqual({ a: 0, b: 3, c: 0, d: 0 });
    expect(report.overall.loop?.toolCallsByName).toEqual({ image_zoom_in_tool: 3 });
  }, 120_000);
});
