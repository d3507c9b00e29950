import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSourcePolicy, loadImageReference, redactUrl } from "../../../src/tools/sources/index.js";

const PNG_1x1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const bytes = Buffer.from(PNG_1x1, "base64");
let dir: string;
let server: Server;
let origin: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "squint-sources-"));
  writeFileSync(join(dir, "a.png"), bytes);
  server = createServer((_req, res) => res.writeHead(200, { "content-type": "image/png" }).end(bytes));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await new Promise((resolve) => server.close(resolve));
});

describe("loadImageReference", () => {
  const policy = () => defaultSourcePolicy({ allowedDirs: [dir], trustedHosts: ["127.0.0.1"] });

  it("returns ids as ids, without reading anything", async () => {
    expect(await loadImageReference("squint://images/img-4", policy())).toEqual({ kind: "id", id: "img-4" });
    expect(await loadImageReference("img-4", policy(), { isImageId: (s) => s === "img-4" })).toEqual({
      kind: "id",
      id: "img-4",
    });
  });

  it.each([
    ["a path", () => join(dir, "a.png"), { kind: "path" }],
    ["a file URL", () => `file://${join(dir, "a.png")}`, { kind: "path" }],
    ["a data URI", () => `data:image/png;base64,${PNG_1x1}`, { kind: "data-uri", mimeType: "image/png" }],
    ["bare base64", () => PNG_1x1, { kind: "base64" }],
    [
      "a URL (query and credentials left out of the source)",
      () => `http://user:pw@127.0.0.1:${origin.split(":")[2]}/a.png?sig=secret`,
      { kind: "url" },
    ],
  ])("reads %s into the same bytes", async (_name, reference, source) => {
    const loaded = await loadImageReference(reference(), policy());
    expect(loaded.kind).toBe("bytes");
    if (loaded.kind !== "bytes") return;
    expect(Buffer.from(loaded.bytes).equals(bytes)).toBe(true);
    expect(loaded.source).toMatchObject(source);
    expect(JSON.stringify(loaded.source)).not.toMatch(/secret|pw@/);
  });

  it("redacts URLs for lineage and messages", () => {
    expect(redactUrl("https://u:p@example.com:8443/x/y.png?token=abc#frag")).toBe("https://example.com:8443/x/y.png");
  });
});
