import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { importGraph, SRC } from "./import-graph.js";

/**
 * Issue 10, load bench: the four resize threads loaded sharp and the model code each (through model/vision.ts
 * and tools/store/pixel-ops.ts), tens of megabytes per thread that no budget counts. A resize thread needs
 * only Pillow's bicubic and a row copy; this keeps it that way.
 */
describe("the resize thread's imports", () => {
  it("reach no module that loads sharp", () => {
    const edges = importGraph().filter((edge) => !edge.typeOnly);
    const start = path.join(SRC, "tools/store/resize-worker.ts");
    const seen = new Set([start]);
    const queue = [start];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      for (const edge of edges) {
        if (edge.from === file && !seen.has(edge.to)) {
          seen.add(edge.to);
          queue.push(edge.to);
        }
      }
    }
    expect(seen.size).toBeGreaterThan(2);
    const withSharp = [...seen].filter((file) => /from "sharp"/.test(readFileSync(file, "utf8")));
    expect(withSharp.map((file) => path.relative(SRC, file))).toEqual([]);
  });
});
