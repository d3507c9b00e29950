import { describe, expect, it } from "vitest";
import { locate } from "../../src/agent/locate.js";
import { contentParts } from "../../src/model/messages.js";
import type { RawImage } from "../../src/model/vision.js";
import type { GenerateRequest } from "../../src/runtime/backend.js";
import { ScriptedBackend } from "../support/scripted-backend.js";
import { syntheticPhoto } from "./fixtures.js";

/** A "model" that really looks: the bounding box of red pixels in the image it is shown, in 0–1000 units. */
async function seeRed(request: GenerateRequest): Promise<string> {
  const part = contentParts(request.messages[0].content).find((p) => p.type === "image");
  if (part?.type !== "image") throw new Error("no image in the request");
  const image: RawImage = await request.resolveImage(part.image);
  let x1 = Number.POSITIVE_INFINITY;
  let y1 = Number.POSITIVE_INFINITY;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const i = (y * image.width + x) * 3;
      if (image.data[i] > 180 && image.data[i + 1] < 80) {
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
  }
  const rel = (value: number, size: number) => Math.round((value / size) * 1000);
  const box = [rel(x1, image.width), rel(y1, image.height), rel(x2, image.width), rel(y2, image.height)];
  return `Found it.\n</think>\n\n\`\`\`json\n[{"bbox_2d": [${box.join(", ")}], "label": "red block"}]\n\`\`\``;
}

describe("locate", () => {
  it("returns the model's box in the pixels of the image given", async () => {
    const backend = new ScriptedBackend([seeRed]);
    const result = await locate(await syntheticPhoto(), "red block", { backend, deep: false });
    expect(result).toMatchObject({ found: true, method: "model", size: { width: 1200, height: 800 }, modelCalls: 1 });
    expect(backend.prompts[0]).toContain(
      "Detect all red block in the image and output their bbox coordinates in JSON format.",
    );
    // The red block is x 600–720, y 240–400.
    expect(result.matches[0].box).toEqual([600, 240, 720, 400]);
    expect(result.matches[0].center).toEqual([660, 320]);
  });

  it("deep: looks again inside a crop and maps the refined box back through the crop", async () => {
    // A small block on a large image: 1/10 of the width is 240 px of 2400; the second look sees a crop.
    const backend = new ScriptedBackend([seeRed, seeRed]);
    const result = await locate(await syntheticPhoto(2400, 1600), "red block", { backend, deep: true });
    expect(result.modelCalls).toBe(2);
    expect(result.matches[0].refined).toBe(true);
    const box = result.matches[0].box;
    if (!box) throw new Error("no box");
    const [x1, y1, x2, y2] = box;
    // Truth: x 1200–1440, y 480–800. The crop's own 0–1000 rounding costs at most a pixel or two.
    expect(Math.abs(x1 - 1200)).toBeLessThanOrEqual(2);
    expect(Math.abs(y1 - 480)).toBeLessThanOrEqual(2);
    expect(Math.abs(x2 - 1440)).toBeLessThanOrEqual(2);
    expect(Math.abs(y2 - 800)).toBeLessThanOrEqual(2);
  });

  it("says not found when the model gives no box", async () => {
    const backend = new ScriptedBackend(["Nothing.\n</think>\n\nThere is no such thing here."]);
    const result = await locate(await syntheticPhoto(), "a unicorn", { backend, mode: "model" });
    expect(result.found).toBe(false);
    expect(result.matches).toEqual([]);
  });
});
