import { describe, expect, it } from "vitest";
import { parseGrounding } from "../../src/model/grounding.js";

describe("parseGrounding (spec §6)", () => {
  it("reads a fenced list of boxes", () => {
    expect(parseGrounding('```json\n[{"bbox_2d": [135, 114, 1016, 672], "label": "car"}]\n```')).toEqual([
      { kind: "box", bbox: [135, 114, 1016, 672], label: "car", space: "rel1000" },
    ]);
  });

  it("reads points, a single object, and items without labels", () => {
    expect(parseGrounding('{"point_2d": [925, 618]} and [{"point_2d": [1, 2], "label": "p"}]')).toEqual([
      { kind: "point", point: [925, 618], space: "rel1000" },
      { kind: "point", point: [1, 2], label: "p", space: "rel1000" },
    ]);
  });

  it("keeps the image a box is relative to (img_idx) when the model names one", () => {
    expect(parseGrounding('{"bbox_2d": [1, 2, 3, 4], "img_idx": 2} {"point_2d": [5, 6], "img_idx": "1"}')).toEqual([
      { kind: "box", bbox: [1, 2, 3, 4], imageIndex: 2, space: "rel1000" },
      { kind: "point", point: [5, 6], imageIndex: 1, space: "rel1000" },
    ]);
    expect(parseGrounding('{"bbox_2d": [1, 2, 3, 4], "img_idx": -1}')).toEqual([
      { kind: "box", bbox: [1, 2, 3, 4], space: "rel1000" },
    ]);
  });

  it("reads only fenced blocks when there are any", () => {
    const text = 'Example: {"bbox_2d": [0, 0, 1, 1]}\n```json\n{"bbox_2d": [5, 6, 7, 8], "label": "x"}\n```';
    expect(parseGrounding(text)).toEqual([{ kind: "box", bbox: [5, 6, 7, 8], label: "x", space: "rel1000" }]);
  });

  it("finds boxes nested in a wrapper object and tolerates sloppy JSON", () => {
    expect(parseGrounding("{'objects': [{'bbox_2d': [1, 2, 3, 4], 'label': 'a',},]}")).toEqual([
      { kind: "box", bbox: [1, 2, 3, 4], label: "a", space: "rel1000" },
    ]);
  });

  it("skips malformed coordinates", () => {
    expect(parseGrounding('[{"bbox_2d": [1, 2, 3]}, {"point_2d": ["a", 2]}, {"bbox_2d": [1, 2, 3, 4]}]')).toEqual([
      { kind: "box", bbox: [1, 2, 3, 4], space: "rel1000" },
    ]);
  });

  it("returns nothing for plain prose", () => {
    expect(parseGrounding("There is no sign [citation needed] in this {picture}.")).toEqual([]);
  });
});
