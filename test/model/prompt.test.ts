import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isSquintError } from "../../src/errors.js";
import {
  type ContentPart,
  type Message,
  messageSchema,
  type ToolSpec,
  toolSpecSchema,
} from "../../src/model/messages.js";
import { renderPrompt } from "../../src/model/prompt.js";
import { renderChatTemplate, toHfMessage } from "../../src/model/prompt-jinja.js";
import { pythonJsonDumps } from "../../src/model/prompt-json.js";
import { expandVisionPlaceholders, promptVisionParts } from "../../src/model/prompt-vision.js";
import { sharedRoot } from "../support/cli.js";

const fixtures = new URL("../fixtures/model/", import.meta.url);
const example = JSON.parse(readFileSync(new URL("thinking-example.conversation.json", fixtures), "utf8")) as {
  messages: unknown[];
  tools: unknown[];
};
const exampleMessages = example.messages.map((message) => messageSchema.parse(message));
const exampleTools = example.tools.map((tool) => toolSpecSchema.parse(tool));
const exampleGolden = readFileSync(new URL("thinking-example.prompt.txt", fixtures), "utf8");

const templateDir = `${sharedRoot}fixtures/qwen3-vl/`;
const haveTemplates = existsSync(`${templateDir}chat_template.thinking.jinja`);
if (!haveTemplates) console.warn(`prompt.test: ${templateDir} is absent; the jinja comparison tests are skipped.`);
const templates = haveTemplates
  ? {
      thinking: readFileSync(`${templateDir}chat_template.thinking.jinja`, "utf8"),
      instruct: readFileSync(`${templateDir}chat_template.instruct.jinja`, "utf8"),
    }
  : undefined;

const user = (content: string | ContentPart[]): Message => ({ role: "user", content });
const image = (ref: string): ContentPart => ({ type: "image", image: ref });
const video = (...frames: string[]): ContentPart => ({ type: "video", frames });
const text = (value: string): ContentPart => ({ type: "text", text: value });

describe("renderPrompt golden strings (spec §5)", () => {
  it("renders the Thinking example exactly", () => {
    expect(renderPrompt(exampleMessages, { thinking: true, tools: exampleTools })).toBe(exampleGolden);
  });

  it("renders the Instruct variant: no <think> part, plain assistant header", () => {
    const expected = exampleGolden
      .replace(
        "<|im_start|>assistant\n<think>\nThe sign is small; I should zoom in.\n</think>\n\n",
        "<|im_start|>assistant\n",
      )
      .replace(/<\|im_start\|>assistant\n<think>\n$/, "<|im_start|>assistant\n");
    expect(renderPrompt(exampleMessages, { thinking: false, tools: exampleTools })).toBe(expected);
  });

  it("drops reasoning of turns before the last user query (history example)", () => {
    const messages: Message[] = [user("Q1"), { role: "assistant", content: "<think>\nR1\n</think>\n\nA1" }, user("Q2")];
    expect(renderPrompt(messages, { thinking: true })).toBe(
      "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n<think>\n",
    );
  });

  it("keeps reasoning inside the current tool loop, merges consecutive tool results", () => {
    const messages: Message[] = [
      user([image("a"), text("Find both labels")]),
      {
        role: "assistant",
        content: "",
        reasoning: "Two crops.",
        toolCalls: [
          { name: "crop", arguments: { box: [1, 2, 3, 4] } },
          { name: "ocr", arguments: { lang: "中文", note: 'say "hi"\n' } },
        ],
      },
      { role: "tool", content: [image("c1")] },
      { role: "tool", content: "text result" },
    ];
    expect(renderPrompt(messages, { thinking: true, addGenerationPrompt: false })).toBe(
      "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Find both labels<|im_end|>\n" +
        "<|im_start|>assistant\n<think>\nTwo crops.\n</think>\n\n" +
        '<tool_call>\n{"name": "crop", "arguments": {"box": [1, 2, 3, 4]}}\n</tool_call>\n' +
        '<tool_call>\n{"name": "ocr", "arguments": {"lang": "中文", "note": "say \\"hi\\"\\n"}}\n</tool_call><|im_end|>\n' +
        "<|im_start|>user\n<tool_response>\n<|vision_start|><|image_pad|><|vision_end|>\n</tool_response>" +
        "\n<tool_response>\ntext result\n</tool_response><|im_end|>\n",
    );
  });

  it("numbers pictures and videos across the conversation with addVisionId", () => {
    const messages: Message[] = [
      user([image("a"), video("f1", "f2"), image("b")]),
      { role: "tool", content: [image("c")] },
    ];
    const rendered = renderPrompt(messages, { thinking: false, addVisionId: true });
    expect(rendered).toContain(
      "Picture 1: <|vision_start|><|image_pad|><|vision_end|>Video 1: <|vision_start|><|video_pad|>",
    );
    expect(rendered).toContain("Picture 2: <|vision_start|>");
    expect(rendered).toContain("<tool_response>\nPicture 3: <|vision_start|>");
  });

  it("refuses an empty conversation with INVALID_ARGUMENT", () => {
    let caught: unknown;
    try {
      renderPrompt([], { thinking: true });
    } catch (error) {
      caught = error;
    }
    expect(isSquintError(caught) && caught.code).toBe("INVALID_ARGUMENT");
  });
});

describe("pythonJsonDumps (transformers tojson)", () => {
  it("uses Python separators, keeps key order and non-ASCII", () => {
    expect(pythonJsonDumps({ b: [1, 2.5, true, null], a: "é\u0001" })).toBe(
      '{"b": [1, 2.5, true, null], "a": "é\\u0001"}',
    );
  });

  it("prints small floats the way Python's repr does", () => {
    expect(pythonJsonDumps([1e-5, 0.0001, -2.5e-7, 1e-10])).toBe("[1e-05, 0.0001, -2.5e-07, 1e-10]");
  });

  it("prints big integers digit by digit like a Python int", () => {
    expect(pythonJsonDumps(1e21)).toBe("1000000000000000000000");
  });
});

/** A table of conversations that exercises each branch of both templates. */
const table: [string, Message[], ToolSpec[] | undefined][] = [
  ["user only", [user("Hi")], undefined],
  ["system + user", [{ role: "system", content: "Be brief." }, user("Hi")], undefined],
  ["system list with image", [{ role: "system", content: [text("Sys "), image("s")] }, user([image("u")])], undefined],
  ["tools without system", [user("zoom")], exampleTools],
  ["tools with system", [{ role: "system", content: "S" }, user("zoom")], exampleTools],
  ["the spec example", exampleMessages, exampleTools],
  [
    "multi tool calls, content before calls",
    [
      user("q"),
      {
        role: "assistant",
        content: "Let me look.",
        toolCalls: [
          { name: "a", arguments: {} },
          { name: "b", arguments: { x: [1, { y: "z" }] } },
        ],
      },
      { role: "tool", content: "ra" },
      { role: "tool", content: [text("rb "), image("crop")] },
    ],
    exampleTools,
  ],
  [
    "reasoning in history and in the tool loop",
    [
      user("Q1"),
      { role: "assistant", content: "A1", reasoning: "R1" },
      user("Q2"),
      { role: "assistant", content: "\nA2", reasoning: "\nR2\n", toolCalls: [{ name: "t", arguments: { n: 1 } }] },
      { role: "tool", content: "out" },
      { role: "assistant", content: "<think>\ninline R3\n</think>\n\nfinal" },
    ],
    undefined,
  ],
  ["assistant last without reasoning", [user("Q"), { role: "assistant", content: "partial" }], undefined],
  [
    "user text that looks like a tool response",
    [user("Q"), { role: "assistant", content: "x", reasoning: "r" }, user("<tool_response>\nfake\n</tool_response>")],
    undefined,
  ],
  [
    "second system message and assistant images",
    [
      user("Q"),
      { role: "system", content: "late" },
      { role: "assistant", content: [text("see "), image("a")] },
      user("ok"),
    ],
    undefined,
  ],
  ["videos", [user([video("f1", "f2", "f3"), text("what happens?")])], undefined],
  [
    "empty-content assistant with a call and a leading tool",
    [
      { role: "tool", content: "orphan" },
      { role: "assistant", content: "", toolCalls: [{ name: "n", arguments: { a: "b" } }] },
    ],
    undefined,
  ],
];

describe.skipIf(!haveTemplates)("native renderer equals the checkpoint templates rendered with jinja", () => {
  for (const [name, messages, tools] of table) {
    for (const addVisionId of [false, true]) {
      for (const addGenerationPrompt of [true, false]) {
        it(`${name} (visionId=${addVisionId}, generation=${addGenerationPrompt})`, () => {
          for (const thinking of [true, false]) {
            const options = { thinking, tools, addVisionId, addGenerationPrompt };
            const template = thinking ? templates!.thinking : templates!.instruct;
            expect(renderPrompt(messages, options), thinking ? "thinking" : "instruct").toBe(
              renderChatTemplate(template, messages, options),
            );
          }
        });
      }
    }
  }

  it("agrees on generated conversations (property)", () => {
    const snippet = fc.oneof(
      fc.constantFrom(
        "",
        "\n",
        "\n\n",
        "hi",
        "<think>",
        "</think>",
        "<tool_response>",
        "</tool_response>",
        "图片",
        'a"b\\',
      ),
      fc.string({ maxLength: 6 }),
    );
    const textArb = fc.array(snippet, { maxLength: 4 }).map((parts) => parts.join(""));
    const partArb: fc.Arbitrary<ContentPart> = fc.oneof(
      textArb.map(text),
      fc.constant(image("img")),
      fc.constant(video("f0", "f1")),
    );
    const contentArb = fc.oneof(textArb, fc.array(partArb, { maxLength: 3 }));
    const valueArb = fc.oneof(
      fc.integer({ min: -100000, max: 100000 }),
      fc.integer({ min: -100000, max: 100000 }).map((n) => n / 100),
      textArb,
      fc.boolean(),
      fc.constant(null),
    );
    const argsArb = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 5 }),
      fc.oneof(valueArb, fc.array(valueArb, { maxLength: 3 })),
      {
        maxKeys: 3,
      },
    );
    const callArb = fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }), arguments: argsArb });
    const messageArb: fc.Arbitrary<Message> = fc.oneof(
      contentArb.map((content): Message => ({ role: "user", content })),
      contentArb.map((content): Message => ({ role: "tool", content })),
      contentArb.map((content): Message => ({ role: "system", content })),
      fc
        .record({
          content: contentArb,
          reasoning: fc.option(textArb, { nil: undefined }),
          toolCalls: fc.option(fc.array(callArb, { maxLength: 2 }), { nil: undefined }),
        })
        .map(({ content, reasoning, toolCalls }): Message => {
          const message: Message = { role: "assistant", content };
          if (reasoning !== undefined) message.reasoning = reasoning;
          if (toolCalls !== undefined) message.toolCalls = toolCalls;
          return message;
        }),
    );
    const toolArb: fc.Arbitrary<ToolSpec> = fc.record({
      type: fc.constant("function" as const),
      function: fc.record({
        name: fc.string({ minLength: 1, maxLength: 6 }),
        description: textArb,
        parameters: argsArb,
      }),
    });
    const edge = /^[^\S\n]|[^\S\n]$/;
    const hasOtherEdgeWhitespace = (message: Message): boolean =>
      message.role === "assistant" &&
      ((typeof message.content === "string" && edge.test(message.content)) || edge.test(message.reasoning ?? ""));
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 6 }),
        fc.option(fc.array(toolArb, { maxLength: 2 }), { nil: undefined }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (messages, tools, thinking, addVisionId, addGenerationPrompt) => {
          // @huggingface/jinja ignores the argument of lstrip/rstrip/strip and strips all whitespace
          // (`" ".lstrip("\n")` gives "" where Python gives " "); the native renderer follows Python, so texts the
          // Thinking template strips with a '\n' argument must not begin or end with other whitespace here.
          fc.pre(!messages.some(hasOtherEdgeWhitespace));
          const options = { thinking, tools, addVisionId, addGenerationPrompt };
          const template = thinking ? templates!.thinking : templates!.instruct;
          expect(renderPrompt(messages, options)).toBe(renderChatTemplate(template, messages, options));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("strips only newlines where the Thinking template says lstrip('\\n'), as Python does", () => {
    const prompt = renderPrompt(
      [
        { role: "user", content: [] },
        { role: "assistant", content: " " },
      ],
      { thinking: true, addGenerationPrompt: false, addVisionId: false },
    );
    expect(prompt).toBe("<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n <|im_end|>\n");
  });

  it("renders through the template when chatTemplate is given", () => {
    expect(
      renderPrompt(exampleMessages, { thinking: false, tools: exampleTools, chatTemplate: templates!.thinking }),
    ).toBe(exampleGolden);
  });
});

describe("renderChatTemplate errors", () => {
  it("reports a template that does not parse as TEMPLATE_FAILED", () => {
    let caught: unknown;
    try {
      renderChatTemplate("{% if %}", [user("x")], {});
    } catch (error) {
      caught = error;
    }
    expect(isSquintError(caught) && caught.code).toBe("TEMPLATE_FAILED");
  });

  it("reports raise_exception from the template as TEMPLATE_FAILED", () => {
    let caught: unknown;
    try {
      renderChatTemplate("{{ raise_exception('No user query found') }}", [user("x")], {});
    } catch (error) {
      caught = error;
    }
    expect(isSquintError(caught) && caught.message).toMatch(/No user query found/);
  });

  it("maps messages to the transformers shape", () => {
    expect(
      toHfMessage({
        role: "assistant",
        content: [image("i")],
        reasoning: "r",
        toolCalls: [{ id: "c1", name: "n", arguments: { a: 1 } }],
      }),
    ).toEqual({
      role: "assistant",
      content: [{ type: "image", image: "i" }],
      reasoning_content: "r",
      tool_calls: [{ type: "function", id: "c1", function: { name: "n", arguments: { a: 1 } } }],
    });
  });
});

describe("expandVisionPlaceholders (spec §2.2)", () => {
  it("expands each image pad to its count, in order", () => {
    const prompt = renderPrompt([user([image("a"), text("and"), image("b")])], { thinking: false });
    const expanded = expandVisionPlaceholders(prompt, { imageTokenCounts: [3, 1], videos: [] });
    expect(expanded).toContain(
      "<|vision_start|><|image_pad|><|image_pad|><|image_pad|><|vision_end|>and<|vision_start|><|image_pad|><|vision_end|>",
    );
  });

  it("expands a video triple to timestamped groups", () => {
    const prompt = renderPrompt([user([video("f0", "f1", "f2", "f3")])], { thinking: false });
    const expanded = expandVisionPlaceholders(prompt, {
      imageTokenCounts: [],
      videos: [{ timestamps: ["0.2", "1.2"], tokensPerGroup: 2 }],
    });
    expect(expanded).toBe(
      "<|im_start|>user\n<0.2 seconds><|vision_start|><|video_pad|><|video_pad|><|vision_end|>" +
        "<1.2 seconds><|vision_start|><|video_pad|><|video_pad|><|vision_end|><|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("refuses a count that does not match the placeholders", () => {
    const prompt = renderPrompt([user([image("a")])], { thinking: false });
    expect(() => expandVisionPlaceholders(prompt, { imageTokenCounts: [], videos: [] })).toThrow(
      /1 image and 0 video placeholders/,
    );
    expect(() => expandVisionPlaceholders(prompt, { imageTokenCounts: [4, 4], videos: [] })).toThrow(/2 images/);
    expect(() => expandVisionPlaceholders(prompt, { imageTokenCounts: [0], videos: [] })).toThrow(/positive integer/);
  });

  it("lists vision parts in placeholder order for each edition", () => {
    const messages: Message[] = [
      { role: "system", content: [image("sys")] },
      user([image("u1")]),
      { role: "assistant", content: [image("asst")] },
      { role: "tool", content: [video("v")] },
    ];
    const refs = (thinking: boolean) =>
      promptVisionParts(messages, { thinking }).map((part) => (part.type === "image" ? part.image : part.frames[0]));
    expect(refs(true)).toEqual(["sys", "u1", "asst", "v"]);
    expect(refs(false)).toEqual(["u1", "v"]);
    // And these are exactly the placeholders each renderer writes.
    for (const thinking of [true, false]) {
      const prompt = renderPrompt(messages, { thinking });
      const placeholders = prompt.match(/<\|image_pad\|>|<\|video_pad\|>/g) ?? [];
      expect(placeholders.length).toBe(refs(thinking).length);
    }
  });
});
