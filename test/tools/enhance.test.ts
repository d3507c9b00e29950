import { describe, expect, it } from "vitest";
import { enhanceTool } from "../../src/tools/enhance.js";
import { identity } from "../../src/tools/geometry.js";
import { gradient, pixelAt } from "./images.js";
import { codeOf, contextWithImage, callTool } from "./tool-context.js";

describe("image_enhance", () => {
  it("inverts exactly and keeps the pixels in place", async () => {
    const { context, original } = await contextWithImage(gradient(64, 48));
    const result = await callTool(enhanceTool, { invert: true, image: original.id }, context);
    const out = context.store.pixels(result.images[0]!);
    expect(pixelAt(out, 10, 20)).toEqual([245, 235, 225]);
    expect(context.store.get(result.images[0]!).toParent).toEqual(identity);
    expect(result.structured.applied).toEqual(["invert"]);
  });

  it("greyscale gives equal channels, threshold gives only black and white (RGB kept)", async () => {
    const { context, original } = await contextWithImage(gradient(64, 48));
    const grey = context.store.pixels(
      (await callTool(enhanceTool, { greyscale: true, image: original.id }, context)).images[0]!,
    );
    expect(grey.data.byteLength).toBe(64 * 48 * 3);
    const [r, g, b] = pixelAt(grey, 40, 10);
    expect(r).toBe(g);
    expect(g).toBe(b);
    const bw = context.store.pixels(
      (await callTool(enhanceTool, { threshold: 30, image: original.id }, context)).images[0]!,
    );
    expect(new Set(bw.data)).toEqual(new Set([0, 255]));
  });

  it("contrast pushes values away from mid-grey", async () => {
    const { context, original } = await contextWithImage(gradient(256, 4));
    const out = context.store.pixels(
      (await callTool(enhanceTool, { contrast: 2, image: original.id }, context)).images[0]!,
    );
    expect(pixelAt(out, 100, 0)[0]).toBe(72); // 2·100 − 128
    expect(pixelAt(out, 200, 0)[0]).toBe(255); // 2·200 − 128 clipped
  });

  it("refuses a call that asks for nothing", async () => {
    const { context, original } = await contextWithImage(gradient(8, 8));
    expect(await codeOf(callTool(enhanceTool, { image: original.id }, context))).toBe("INVALID_ARGUMENT");
  });
});
