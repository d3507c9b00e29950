import { describe, expect, it } from "vitest";
import { SquintError } from "../../../src/errors.js";
import { classifyImageReference, imageUri, parseImageUri } from "../../../src/tools/sources/reference.js";

const PNG_1x1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

describe("classifyImageReference", () => {
  it.each([
    ["squint://images/img_3", { kind: "id", id: "img_3" }],
    ["/home/me/shot.png", { kind: "path", path: "/home/me/shot.png" }],
    ["./shot.png", { kind: "path", path: "./shot.png" }],
    ["file:///tmp/a%20b.png", { kind: "path", path: "/tmp/a b.png" }],
    // A long dot-free absolute path is still a path: it is not a base64 image header.
    ["/home/someone/pictures/screenshot", { kind: "path", path: "/home/someone/pictures/screenshot" }],
    [PNG_1x1, { kind: "base64", base64: PNG_1x1 }],
    [`data:image/png;base64,${PNG_1x1}`, { kind: "data-uri", uri: `data:image/png;base64,${PNG_1x1}` }],
  ])("%s", (input, expected) => {
    expect(classifyImageReference(input)).toEqual(expected);
  });

  it("reads http(s) URLs as URLs", () => {
    const result = classifyImageReference("https://example.com/a.png");
    expect(result.kind).toBe("url");
    expect(result.kind === "url" && result.url.hostname).toBe("example.com");
  });

  it("prefers a known store id over a same-named relative path", () => {
    expect(classifyImageReference("img_7", { isImageId: (s) => s === "img_7" })).toEqual({ kind: "id", id: "img_7" });
    expect(classifyImageReference("img_8", { isImageId: (s) => s === "img_7" })).toEqual({
      kind: "path",
      path: "img_8",
    });
  });

  it.each([
    ["", "INVALID_ARGUMENT"],
    ["   ", "INVALID_ARGUMENT"],
    ["ftp://example.com/a.png", "URL_NOT_ALLOWED"],
    ["gopher://127.0.0.1:70/", "URL_NOT_ALLOWED"],
    ["squint://images/", "INVALID_ARGUMENT"],
    ["squint://images/a/b", "INVALID_ARGUMENT"],
  ])("refuses %j with %s", (input, code) => {
    try {
      classifyImageReference(input);
      expect.unreachable("should have thrown");
    } catch (error) {
      expect(error).toBeInstanceOf(SquintError);
      expect((error as SquintError).code).toBe(code);
      expect((error as SquintError).hint).toBeTruthy();
    }
  });

  it("round-trips image links, escaping odd ids", () => {
    for (const id of ["img_1", "a b", "ü%"]) expect(parseImageUri(imageUri(id))).toBe(id);
    expect(parseImageUri("https://x/y")).toBeUndefined();
  });
});
