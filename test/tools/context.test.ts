import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToolContext, selectImage } from "../../src/tools/context.js";
import { imageUri } from "../../src/tools/sources/reference.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { encode, gradient } from "./images.js";
import { codeOf } from "./tool-context.js";

describe("ToolContext.resolveImage", () => {
  let dir: string;
  let png: Buffer;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "squint-context-"));
    png = await encode(gradient(40, 30));
    fs.writeFileSync(path.join(dir, "small.png"), png);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("turns every kind of reference into one stored image", async () => {
    const store = new ImageStore();
    const context = createToolContext({ store, policy: defaultSourcePolicy({ allowedDirs: [dir] }) });
    const fromPath = await context.resolveImage(path.join(dir, "small.png"));
    expect(fromPath).toMatchObject({ width: 40, height: 30, source: fs.realpathSync(path.join(dir, "small.png")) });
    // The same bytes by any other road are the same image, decoded once.
    expect((await context.resolveImage(`data:image/png;base64,${png.toString("base64")}`)).id).toBe(fromPath.id);
    expect((await context.resolveImage(png.toString("base64"))).id).toBe(fromPath.id);
    expect((await context.resolveImage(fromPath.id)).id).toBe(fromPath.id);
    expect((await context.resolveImage(imageUri(fromPath.id))).id).toBe(fromPath.id);
    expect(store.stats().images).toBe(1);
    // Images named in tool arguments are cached, not pinned: a long-running server must not fill up with them.
    expect(store.stats().pinned).toBe(0);
  });

  it("refuses paths outside the policy and stale ids", async () => {
    const context = createToolContext({ store: new ImageStore() });
    expect(await codeOf(context.resolveImage(path.join(dir, "small.png")))).toBe("PATH_NOT_ALLOWED");
    expect(await codeOf(context.resolveImage("img-41"))).toBe("NOT_FOUND");
    expect(await codeOf(context.resolveImage("http://127.0.0.1/x.png"))).toBe("URL_NOT_ALLOWED");
  });
});

describe("selectImage", () => {
  it("uses image or img_idx, never both, never neither", async () => {
    const store = new ImageStore();
    const stored = await store.ingest(await encode(gradient(8, 8)));
    const context = createToolContext({
      store,
      imageByIndex: (index) => (index === 0 ? stored : store.get(`img-${index + 100}`)),
    });
    expect((await selectImage({ img_idx: 0 }, context)).id).toBe(stored.id);
    expect((await selectImage({ image: stored.id }, context)).id).toBe(stored.id);
    expect(await codeOf(selectImage({ img_idx: 0, image: stored.id }, context))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(selectImage({}, context))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(Promise.resolve().then(() => selectImage({ img_idx: 3 }, context)))).toBe("NOT_FOUND");
  });
});
