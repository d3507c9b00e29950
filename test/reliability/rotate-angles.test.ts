import { describe, expect, it } from "vitest";
import { applyToPoint } from "../../src/tools/geometry.js";
import { rotateTool } from "../../src/tools/rotate.js";
import { brightCentroid, marker } from "../tools/images.js";
import { callTool, contextWithImage } from "../tools/tool-context.js";

/**
 * Issue 10: `image_rotate` with angle 1e308 reached libvips as is and failed with TOOL_FAILED "parameter angle
 * not set" (and GLib-CRITICAL on stderr). Any finite angle is reduced mod 360 first.
 */
describe("image_rotate with extreme angles", () => {
  it.each([1e308, -1e308, Number.MAX_VALUE, 720 + 90, -270, 1e-300, 36_000_000_045])("rotates by %d", async (angle) => {
    const { context, original } = await contextWithImage(marker(120, 80, 100, 20, 4));
    const result = await callTool(rotateTool, { angle, background: "#000000", image: original.id }, context);
    const reduced = ((angle % 360) + 360) % 360;
    expect(result.structured.angle).toBe(reduced);
    expect(result.structured.angle).toBeGreaterThanOrEqual(0);
    expect(result.structured.angle).toBeLessThan(360);
    // The recorded transform still maps the marker back to where it was (centre 102, 22).
    const rotated = context.store.get(result.images[0]!);
    const back = applyToPoint(rotated.toOriginal, brightCentroid(context.store.pixels(rotated.id)));
    expect(Math.hypot(back.x - 102, back.y - 22)).toBeLessThanOrEqual(1.5);
  });
});
