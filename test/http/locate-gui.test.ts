import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServeHandle } from "../../src/http/server.js";
import type { OcrFunction } from "../../src/tools/context.js";
import { createToolContext } from "../../src/tools/context.js";
import { locateTool } from "../../src/tools/locate.js";
import { closeDefaultOcrEngine, defaultOcrFunction } from "../../src/tools/ocr/ocr-tool.js";
import type { OcrResult } from "../../src/tools/ocr/types.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { hasSharedData, noteMissingShared, sharedData } from "../tools/images.js";
import { call, startServer } from "./harness.js";

/**
 * /v1/locate without a model on the real GUI screenshots of ../shared/data/gui: every labelled element is
 * asked for by its label, over HTTP (data URL in, boxes out) and through the `locate` tool in-process, and
 * scored the ScreenSpot way (the point inside the truth box, in original pixels). The HTTP door must give
 * the tool's answers exactly: the same hits, the same boxes. OCR is the real PP-OCR engine; a memo keyed by
 * the decoded pixels' hash reads each screenshot once (both paths decode the same PNG to the same pixels).
 */
noteMissingShared();

interface TruthBox {
  label: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}
interface Entry {
  file: string;
  category: string;
  width: number;
  height: number;
  truth: { boxes: TruthBox[] };
}

/**
 * PP-OCR on a screenshot costs seconds on a shared CPU: the suite reads the four smallest of the eight
 * (mobile and desktop, Chinese and English); SQUINT_GUI_ALL=1 reads all of them.
 */
const entries: Entry[] = hasSharedData
  ? (JSON.parse(fs.readFileSync(path.join(sharedData, "MANIFEST.json"), "utf8")) as Entry[])
      .filter((entry) => entry.category === "gui")
      .sort((a, b) => a.width * a.height - b.width * b.height)
      .slice(0, process.env.SQUINT_GUI_ALL === "1" ? undefined : 4)
  : [];

function memoOcr(ocr: OcrFunction): { ocr: OcrFunction; reads: () => number } {
  const memo = new Map<string, Promise<OcrResult>>();
  return {
    ocr: (image, signal) => {
      const key = createHash("sha256").update(image.data).digest("hex");
      let result = memo.get(key);
      if (!result) {
        result = ocr(image, signal);
        memo.set(key, result);
      }
      return result;
    },
    reads: () => memo.size,
  };
}

const inside = (point: number[], box: TruthBox) =>
  point[0]! >= box.x1 && point[0]! <= box.x2 && point[1]! >= box.y1 && point[1]! <= box.y2;

let server: ServeHandle;
const ocr = memoOcr(defaultOcrFunction());

beforeAll(async () => {
  server = await startServer({ ocr: ocr.ocr, limits: { maxQueries: 200, maxBodyBytes: 8 * 1024 * 1024 } });
});

afterAll(async () => {
  await server?.close();
  await closeDefaultOcrEngine();
});

describe("/v1/locate on real screenshots, without a model", () => {
  it.skipIf(!hasSharedData)(
    "finds text targets in original pixels with the locate tool's hit rate",
    async () => {
      let queries = 0;
      let httpHits = 0;
      let toolHits = 0;
      const perImage: string[] = [];
      for (const entry of entries) {
        const bytes = fs.readFileSync(path.join(sharedData, entry.file));
        const labels = entry.truth.boxes;
        const reply = await call(`${server.url}/v1/locate`, {
          body: {
            image: `data:image/png;base64,${bytes.toString("base64")}`,
            query: labels.map((box) => box.label),
            all: false,
          },
        });
        expect(reply.status, entry.file).toBe(200);
        const body = reply.body as {
          image: { width: number; height: number };
          results: Array<{ found: boolean; detections: Array<{ point: number[]; box: number[] }> }>;
        };
        expect(body.image).toEqual({ width: entry.width, height: entry.height });

        const store = new ImageStore();
        const stored = await store.ingest(bytes);
        const context = createToolContext({ store, ocr: ocr.ocr });
        let imageHits = 0;
        for (const [index, truth] of labels.entries()) {
          queries++;
          const output = await locateTool.run(
            locateTool.inputSchema.parse({ query: truth.label, image: stored.id, mode: "ocr", max_results: 1 }),
            context,
            {},
          );
          const toolMatch = output.structured.matches[0];
          const httpMatch = body.results[index]!.detections[0];
          // Same answer through both doors: found or not, and the same box in original pixels.
          expect(httpMatch?.box ?? null, `${entry.file}: ${truth.label}`).toEqual(
            toolMatch?.box?.originalPixels ?? null,
          );
          if (toolMatch && inside(toolMatch.center, truth)) toolHits++;
          if (httpMatch && inside(httpMatch.point, truth)) {
            httpHits++;
            imageHits++;
          }
        }
        perImage.push(`${path.basename(entry.file)} ${imageHits}/${labels.length}`);
      }
      console.log(
        `gui locate (OCR, no model): http ${httpHits}/${queries}, tool ${toolHits}/${queries}; ${perImage.join(", ")}`,
      );
      expect(httpHits).toBe(toolHits);
      // Labels that are visible text are found; descriptions of icons are not (no model), so not all hit.
      expect(httpHits).toBeGreaterThan(0);
      // Each screenshot was read once: both doors decoded it to the same pixels.
      expect(ocr.reads()).toBe(entries.length);
    },
    600_000,
  );
});
