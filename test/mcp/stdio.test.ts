import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedRoot } from "../support/cli.js";
import { callTool, connectStdio, expectCodedError, textOf } from "./harness.js";
import { toolExamples } from "./tool-examples.js";

const sharedData = join(sharedRoot, "data");
const hasShared = existsSync(join(sharedData, "ocr", "tesseractjs-testocr.png"));
if (!hasShared)
  console.warn(`[stdio.test] ${sharedData} is absent: OCR runs on a generated image and its text is not checked.`);

let dir: string;
let client: Client;
let image: string;
let textImage: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "squint-stdio-"));
  image = join(dir, "shapes.png");
  const shapes = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><rect width="400" height="300" fill="#fff"/><rect x="100" y="75" width="200" height="150" fill="#c00"/></svg>`,
  );
  await sharp(shapes).png().toFile(image);
  textImage = hasShared ? join(sharedData, "ocr", "tesseractjs-testocr.png") : image;
  ({ client } = await connectStdio(["--allow", dir, ...(hasShared ? ["--allow", sharedData] : [])]));
}, 90_000);

afterAll(async () => {
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("squint mcp over stdio", () => {
  it("calls every listed tool through the SDK client", async () => {
    const { tools } = await client.listTools();
    const examples = toolExamples(image, textImage);
    expect(tools.map((tool) => tool.name).sort()).toEqual(Object.keys(examples).sort());
    for (const tool of tools) {
      const result = await callTool(client, tool.name, examples[tool.name]);
      expect(result.isError, `${tool.name}: ${textOf(result).slice(0, 300)}`).toBeFalsy();
      expect(result.structuredContent, tool.name).toBeTypeOf("object");
      // Pixels travel only as image content, never inside the structured result.
      expect(JSON.stringify(result.structuredContent)).not.toMatch(/iVBORw0KGgo|\/9j\/4/);
    }
  }, 180_000);

  it("zooms with the box mapped to the original's pixels and links the result", async () => {
    const result = await callTool(client, "image_zoom_in_tool", { image, bbox_2d: [250, 250, 750, 750] });
    const structured = result.structuredContent as {
      image: { id: string; width: number };
      region: { originalPixels: number[] };
    };
    expect(structured.region.originalPixels).toEqual([100, 75, 300, 225]);
    const link = result.content.find((part) => part.type === "resource_link");
    expect(link?.type === "resource_link" && link.uri).toBe(`squint://images/${structured.image.id}`);
    const inline = result.content.find((part) => part.type === "image");
    const meta = await sharp(Buffer.from(inline?.type === "image" ? inline.data : "", "base64")).stats();
    // The zoomed region is the red rectangle: the inline copy is red.
    expect(meta.channels[0].mean).toBeGreaterThan(180);
    expect(meta.channels[1].mean).toBeLessThan(40);
  }, 60_000);

  it.skipIf(!hasShared)(
    "reads real text through OCR (needs ../shared/data)",
    async () => {
      const result = await callTool(client, "ocr", { image: textImage });
      expect((result.structuredContent as { text: string }).text.toLowerCase()).toContain("quick brown");
    },
    60_000,
  );

  it("takes a tool argument longer than the SDK's default 10 MiB stdio line", async () => {
    const png = await sharp(randomBytes(1700 * 1600 * 3), { raw: { width: 1700, height: 1600, channels: 3 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    const uri = `data:image/png;base64,${png.toString("base64")}`;
    expect(uri.length).toBeGreaterThan(10 * 1024 * 1024);
    const result = await callTool(client, "image_info", { image: uri });
    expect(result.structuredContent).toMatchObject({ width: 1700, height: 1600 });
  }, 60_000);

  it("keeps serving after a coded error", async () => {
    expectCodedError(await callTool(client, "image_info", { image: "/etc/passwd" }), "PATH_NOT_ALLOWED");
    const after = await callTool(client, "image_info", { image });
    expect(after.structuredContent).toMatchObject({ width: 400, height: 300 });
  }, 60_000);
});
