import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LenientJsonError, parseLenientJson, parseLenientJsonPrefix } from "../../src/model/lenient-json.js";

describe("lenient JSON reader", () => {
  it("reads strict JSON exactly as JSON.parse does, with no repairs (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        expect(parseLenientJson(text)).toEqual({ value: JSON.parse(text), end: text.length, repairs: [] });
      }),
      { numRuns: 200 },
    );
  });

  it("reports where a prefix value ends", () => {
    expect(parseLenientJsonPrefix('xx [1, {"a": 2}] tail', 2)).toMatchObject({ value: [1, { a: 2 }], end: 16 });
  });

  it("closes brackets left open after a finished value, but never completes a number", () => {
    expect(parseLenientJson('{"a": [1, "b"').value).toEqual({ a: [1, "b"] });
    expect(() => parseLenientJson('{"a": [1, 2')).toThrow(LenientJsonError);
    expect(parseLenientJson("42").value).toBe(42);
  });

  it("names the position of an error", () => {
    expect(() => parseLenientJson('{"a" 1}')).toThrow(/Expected ':' after a key at position 5/);
    expect(() => parseLenientJson("[1] x")).toThrow(/Unexpected text after the value/);
  });
});
