import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseToolCallBlock } from "../../src/model/tool-call-repair.js";

describe("parseToolCallBlock", () => {
  it("reads a clean Hermes block with no repairs", () => {
    expect(parseToolCallBlock('\n{"name": "crop", "arguments": {"box": [1, 2, 3, 4]}}\n')).toEqual({
      ok: true,
      call: { name: "crop", arguments: { box: [1, 2, 3, 4] } },
      repairs: [],
    });
  });

  it.each([
    ["trailing commas", '{"name": "a", "arguments": {"x": [1, 2,],},}', { x: [1, 2] }, /trailing comma/],
    ["single quotes", "{'name': 'a', 'arguments': {'x': 'it'}}", { x: "it" }, /single-quoted/],
    ["bare keys", "{name: 'a', arguments: {x: 1}}", { x: 1 }, /bare key/],
    ["Python literals", '{"name": "a", "arguments": {"x": True, "y": None}}', { x: true, y: null }, /Python's True/],
    ["arguments as a JSON string", '{"name": "a", "arguments": "{\\"x\\": 1}"}', { x: 1 }, /JSON string/],
    ["parameters instead of arguments", '{"name": "a", "parameters": {"x": 1}}', { x: 1 }, /parameters/],
    [
      "an OpenAI function wrapper",
      '{"type": "function", "function": {"name": "a", "arguments": {"x": 1}}}',
      { x: 1 },
      /function/,
    ],
    ["a code fence", '```json\n{"name": "a", "arguments": {"x": 1}}\n```', { x: 1 }, /code fence/],
    ["a missing closing brace", '{"name": "a", "arguments": {"x": "y"}', { x: "y" }, /unclosed object/],
    ["an extra closing brace", '{"name": "a", "arguments": {"x": 1}}}', { x: 1 }, /after the JSON object/],
  ])("repairs %s and says so", (_name, raw, args, repair) => {
    const result = parseToolCallBlock(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.call).toEqual({ name: "a", arguments: args });
    expect(result.repairs.join("; ")).toMatch(repair);
  });

  it("defaults missing arguments to {}", () => {
    expect(parseToolCallBlock('{"name": "list_images"}')).toMatchObject({ ok: true, call: { arguments: {} } });
  });

  it.each([
    ["an empty block", "  \n", /empty/],
    ["prose", "I will now crop the image", /not valid JSON/],
    ["a number cut off mid-way", '{"name": "crop", "arguments": {"box": [1, 2', /cut off/],
    ["a string cut off mid-way", '{"name": "crop", "arguments": {"label": "si', /Unterminated string/],
    ["no name", '{"arguments": {}}', /no "name"/],
    ["non-object arguments", '{"name": "a", "arguments": [1, 2]}', /must be a JSON object/],
    ["a broken arguments string", '{"name": "a", "arguments": "{x: "}', /"arguments" string of a is not valid JSON/],
  ])("refuses %s with a message for the model", (_name, raw, message) => {
    const result = parseToolCallBlock(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.raw).toBe(raw);
    expect(result.message).toMatch(message);
    expect(result.message).toMatch(/between <tool_call> and <\/tool_call>/);
  });

  it("reads any JSON.stringify'd call back exactly (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((name) => name.trim() === name && name !== ""),
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
        (name, args) => {
          const result = parseToolCallBlock(JSON.stringify({ name, arguments: args }));
          expect(result).toEqual({
            ok: true,
            call: { name, arguments: JSON.parse(JSON.stringify(args)) },
            repairs: [],
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("keeps a __proto__ key as data without touching prototypes", () => {
    const result = parseToolCallBlock("{'name': 'a', 'arguments': {'__proto__': {'polluted': true}}}");
    expect(result.ok && Object.getPrototypeOf(result.call.arguments)).toBe(Object.prototype);
    expect(result.ok && Object.keys(result.call.arguments)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("never throws on arbitrary text (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (raw) => {
        expect(typeof parseToolCallBlock(raw).ok).toBe("boolean");
      }),
      { numRuns: 500 },
    );
  });
});
