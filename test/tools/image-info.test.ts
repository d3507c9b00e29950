import { describe, expect, it } from "vitest";
import { cropTool } from "../../src/tools/crop.js";
import { imageInfoTool } from "../../src/tools/image-info.js";
import { zoomTool } from "../../src/tools/zoom.js";
import { gradient } from "./images.js";
import { contextWithImage, callTool } from "./tool-context.js";

describe("image_info", () => {
  it("describes an original", async () => {
    const { context, original } = await contextWithImage(gradient(640, 480));
    const info = await callTool(imageInfoTool, { image: original.id }, context);
    expect(info.structured).toMatchObject({
      id: original.id,
      width: 640,
      height: 480,
      format: "PNG",
      source: "test image",
      operation: "original",
      original: { id: original.id, width: 640, height: 480 },
    });
    expect(info.structured.lineage).toHaveLength(1);
    expect(info.images).toEqual([]);
  });

  it("gives the lineage and where a zoom of a crop lies on the original", async () => {
    const { context, original } = await contextWithImage(gradient(1000, 1000));
    const crop = await callTool(cropTool, { bbox_2d: [200, 200, 600, 600], image: original.id }, context);
    const zoom = await callTool(
      zoomTool,
      { bbox_2d: [500, 500, 1000, 1000], label: "corner", image: crop.images[0]! },
      context,
    );
    const info = await callTool(imageInfoTool, { image: zoom.images[0]! }, context);
    expect(info.structured.lineage.map((step) => step.operation)).toEqual(["zoom", "crop", "original"]);
    expect(info.structured.label).toBe("corner");
    // crop: 200..600; its lower-right quarter: 400..600 on the original.
    expect(info.structured.extentInOriginal.originalPixels).toEqual([400, 400, 600, 600]);
    expect(info.summary).toContain("[400, 400, 600, 600]");
  });
});
