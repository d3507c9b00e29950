import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isSquintError } from "../../src/errors.js";
import { loadSuite } from "../../src/eval/suite.js";

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "squint-suite-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const line = (value: Record<string, unknown>) => JSON.stringify(value);
const choice = (id: string, extra: Record<string, unknown> = {}) =>
  line({ id, image: "a.png", question: "q?", options: ["x", "y"], truth: { type: "choice", answer: "A" }, ...extra });

function errorOf(run: () => unknown) {
  try {
    run();
  } catch (error) {
    if (isSquintError(error)) return error;
    throw error;
  }
  throw new Error("no error");
}

describe("loadSuite", () => {
  it("a directory is every .jsonl in name order; ids are unique across files; paths are relative to each file", () => {
    const dir = dirWith({
      "a.png": "png",
      "b.jsonl": choice("two"),
      "a.jsonl": `${choice("one")}\n\n`,
      "notes.txt": "x",
    });
    const suite = loadSuite(dir);
    expect(suite.items.map((item) => item.id)).toEqual(["one", "two"]);
    expect(suite.items[0]?.images).toEqual([path.join(dir, "a.png")]);
    expect(suite.items[0]?.category).toBe("all");
    expect(suite.sha256).toMatch(/^[0-9a-f]{64}$/);
    const clash = errorOf(() =>
      loadSuite(dirWith({ "a.png": "png", "a.jsonl": choice("one"), "b.jsonl": choice("one") })),
    );
    expect(clash.message).toMatch(/b\.jsonl:1: id "one" is already used at .*a\.jsonl:1/);
  });

  it("checks pinned image hashes, image vs images, and says how to render a shipped suite's images", () => {
    const dir = dirWith({
      "a.png": "png",
      "s.jsonl": [
        choice("pinned", { sha256: ["0".repeat(64)] }),
        line({ id: "both", image: "a.png", images: ["a.png"], question: "q", truth: { type: "text", answers: ["x"] } }),
        choice("gone", { image: "images/needle-00.png" }),
      ].join("\n"),
    });
    const error = errorOf(() => loadSuite(path.join(dir, "s.jsonl")));
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message).toMatch(/s\.jsonl:1: image bytes differ from the sha256/);
    expect(error.message).toMatch(/s\.jsonl:2: images: give either image or images/);
    expect(error.message).toMatch(/s\.jsonl:3: image not found: images\/needle-00\.png/);
    expect(error.hint).toMatch(/npm run suites/);
    expect(error.details?.errors).toHaveLength(3);
  });

  it("a missing suite, an empty directory and an empty file are typed errors", () => {
    expect(errorOf(() => loadSuite("/nowhere/suite.jsonl")).code).toBe("NOT_FOUND");
    expect(errorOf(() => loadSuite(dirWith({}))).code).toBe("NOT_FOUND");
    expect(errorOf(() => loadSuite(path.join(dirWith({ "s.jsonl": "\n" }), "s.jsonl"))).message).toMatch(/no items/);
  });
});
