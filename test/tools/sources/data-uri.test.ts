import { describe, expect, it } from "vitest";
import { SquintError } from "../../../src/errors.js";
import { decodeBase64Image, decodeDataUri } from "../../../src/tools/sources/data-uri.js";

const PNG_1x1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof SquintError) return error.code;
    throw error;
  }
  return "no error";
}

describe("decodeDataUri", () => {
  it("decodes a base64 PNG data URI with its media type", () => {
    const { mimeType, bytes } = decodeDataUri(`data:image/PNG;base64,${PNG_1x1}`, 1024);
    expect(mimeType).toBe("image/png");
    expect([...bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(bytes.length).toBe(Buffer.from(PNG_1x1, "base64").length);
  });

  it("decodes percent-encoded binary payloads byte for byte", () => {
    const { bytes } = decodeDataUri("data:application/octet-stream,%89PNG%0D%0A%FF", 1024);
    expect([...bytes]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0xff]);
  });

  it("accepts base64url and whitespace", () => {
    const url = Buffer.from([0xfb, 0xff, 0xfe]).toString("base64url");
    expect([...decodeBase64Image(` ${url}\n`, 10)]).toEqual([0xfb, 0xff, 0xfe]);
  });

  it.each([
    ["not a data uri", () => decodeDataUri("data:image/png;base64", 1024), "INVALID_ARGUMENT"],
    ["junk in base64", () => decodeBase64Image("iVBOR*w0KGgo", 1024), "INVALID_ARGUMENT"],
    ["empty payload", () => decodeDataUri("data:image/png;base64,", 1024), "IMAGE_DECODE_FAILED"],
    ["over the byte limit", () => decodeDataUri(`data:image/png;base64,${PNG_1x1}`, 10), "IMAGE_TOO_LARGE"],
  ])("refuses %s", (_name, run, code) => {
    expect(codeOf(run)).toBe(code);
  });
});
