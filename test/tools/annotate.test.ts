import { describe, expect, it } from "vitest";
import { annotateTool, annotationSvg } from "../../src/tools/annotate.js";
import type { RawImage } from "../../src/model/vision.js";
import { pixelAt } from "./images.js";
import { codeOf, contextWithImage, callTool } from "./tool-context.js";

function white(width: number, height: number): RawImage {
  return { width, height, data: new Uint8Array(width * height * 3).fill(255) };
}

describe("image_annotate", () => {
  it("draws the box outline where the box is and leaves the rest alone", async () => {
    const { context, original } = await contextWithImage(white(400, 200));
    const result = await callTool(
      annotateTool,
      { boxes: [{ bbox_2d: [100, 200, 500, 800], color: "#ff0000" }], image: original.id },
      context,
    );
    // rel1000 [100, 200, 500, 800] on 400×200 → x 40..200, y 40..160.
    expect(result.structured.boxes[0]!.pixels).toEqual([40, 40, 200, 160]);
    const out = context.store.pixels(result.images[0]!);
    expect(pixelAt(out, 120, 40)).toEqual([255, 0, 0]); // top edge
    expect(pixelAt(out, 40, 100)).toEqual([255, 0, 0]); // left edge
    expect(pixelAt(out, 120, 100)).toEqual([255, 255, 255]); // inside
    expect(pixelAt(out, 300, 180)).toEqual([255, 255, 255]); // outside
    // The original is untouched.
    expect(pixelAt(context.store.pixels(original.id), 120, 40)).toEqual([255, 255, 255]);
  });

  it("marks points and reports them in all spaces", async () => {
    const { context, original } = await contextWithImage(white(200, 100));
    const result = await callTool(
      annotateTool,
      { points: [{ point_2d: [50, 40], label: "here", color: "#0000ff" }], space: "pixel", image: original.id },
      context,
    );
    expect(result.structured.points[0]).toMatchObject({ point_2d: [250, 400], pixels: [50, 40], label: "here" });
    expect(pixelAt(context.store.pixels(result.images[0]!), 50, 40)).toEqual([0, 0, 255]);
  });

  it("escapes labels in the SVG it generates", () => {
    const svg = annotationSvg(
      { width: 10, height: 10 },
      [{ box: { x1: 1, y1: 1, x2: 5, y2: 5 }, label: '<script>"&', colour: "#000000" }],
      [],
    );
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("&#60;script&#62;&#34;&#38;");
  });

  it("refuses nothing to draw and bad boxes", async () => {
    const { context, original } = await contextWithImage(white(20, 20));
    expect(await codeOf(callTool(annotateTool, { image: original.id }, context))).toBe("INVALID_ARGUMENT");
    expect(
      await codeOf(callTool(annotateTool, { boxes: [{ bbox_2d: [10, 10, 5, 5] }], image: original.id }, context)),
    ).toBe("INVALID_ARGUMENT");
  });
});
