import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ParsedReply, parseReply, type ReplyEvent, ReplyParser } from "../../src/model/reply.js";

function counterIds(): () => string {
  let next = 0;
  return () => `call_${next++}`;
}

describe("parseReply: reasoning split (vLLM qwen3 reasoning parser semantics)", () => {
  it("splits at </think> and drops the template's newlines", () => {
    const reply = parseReply("Let me look.\nCarefully.\n</think>\n\nThe sign says OPEN.", { thinking: true });
    expect(reply.reasoning).toBe("Let me look.\nCarefully.");
    expect(reply.content).toBe("The sign says OPEN.");
    expect(reply.reasoningUnfinished).toBe(false);
  });

  it("treats everything as reasoning when a Thinking reply never closes </think>", () => {
    const reply = parseReply("still thinking <tool_call>\n{}", { thinking: true });
    expect(reply).toMatchObject({
      reasoning: "still thinking <tool_call>\n{}",
      content: "",
      toolCalls: [],
      reasoningUnfinished: true,
    });
  });

  it("strips a <think> the model wrote itself", () => {
    expect(parseReply("<think>\nR\n</think>\n\nA", { thinking: true })).toMatchObject({ reasoning: "R", content: "A" });
  });

  it("leaves an Instruct reply as content unless it opens with <think>", () => {
    expect(parseReply("Answer </think> here", { thinking: false })).toMatchObject({
      reasoning: "",
      content: "Answer </think> here",
    });
    expect(parseReply("<think>\nR\n</think>\n\nA", { thinking: false })).toMatchObject({
      reasoning: "R",
      content: "A",
    });
  });
});

describe("parseReply: tool calls (hermes semantics)", () => {
  it("reads calls after </think> and ignores the ones inside reasoning", () => {
    const text =
      'maybe <tool_call>{"name": "no", "arguments": {}}</tool_call> hmm\n</think>\n\nZooming.\n' +
      '<tool_call>\n{"name": "image_zoom_in_tool", "arguments": {"bbox_2d": [1, 2, 3, 4], "label": "sign", "img_idx": 0}}\n</tool_call>\n' +
      '<tool_call>\n{"name": "ocr", "arguments": {}}\n</tool_call>';
    const reply = parseReply(text, { thinking: true, createId: counterIds() });
    expect(reply.reasoning).toContain('<tool_call>{"name": "no"');
    expect(reply.content).toBe("Zooming.");
    expect(reply.toolCalls).toEqual([
      { id: "call_0", name: "image_zoom_in_tool", arguments: { bbox_2d: [1, 2, 3, 4], label: "sign", img_idx: 0 } },
      { id: "call_1", name: "ocr", arguments: {} },
    ]);
    expect(reply.toolCallErrors).toEqual([]);
  });

  it("repairs trailing commas, single quotes and string arguments", () => {
    const text =
      "<tool_call>\n{'name': 'crop', 'arguments': {'box': [1, 2, 3, 4,],},}\n</tool_call>\n" +
      '<tool_call>{"name": "ocr", "arguments": "{\\"lang\\": \\"en\\"}"}</tool_call>';
    const reply = parseReply(text, { thinking: false, createId: counterIds() });
    expect(reply.toolCalls.map(({ name, arguments: args }) => ({ name, args }))).toEqual([
      { name: "crop", args: { box: [1, 2, 3, 4] } },
      { name: "ocr", args: { lang: "en" } },
    ]);
  });

  it("reads a block left open at the end of the stream", () => {
    const reply = parseReply('</think>\n\n<tool_call>\n{"name": "locate", "arguments": {"query": "red button"}}\n', {
      thinking: true,
    });
    expect(reply.toolCalls).toHaveLength(1);
    expect(reply.toolCalls[0]).toMatchObject({ name: "locate", arguments: { query: "red button" } });
  });

  it("reports what it could not repair, with the raw text and a message for the model", () => {
    const reply = parseReply('<tool_call>\n{"name": "crop", "arguments": {"box": [1, 2\n</tool_call>after', {
      thinking: false,
    });
    expect(reply.toolCalls).toEqual([]);
    expect(reply.toolCallErrors).toHaveLength(1);
    expect(reply.toolCallErrors[0].raw).toBe('\n{"name": "crop", "arguments": {"box": [1, 2\n');
    expect(reply.toolCallErrors[0].message).toMatch(/not valid JSON/);
    expect(reply.toolCallErrors[0].message).toMatch(/between <tool_call> and <\/tool_call>/);
    expect(reply.content).toBe("after");
  });

  it("reports a block cut short by a second <tool_call>, then reads the second", () => {
    const reply = parseReply('<tool_call>{"name": "a", "argu<tool_call>{"name": "b", "arguments": {}}</tool_call>', {
      thinking: false,
    });
    expect(reply.toolCallErrors).toHaveLength(1);
    expect(reply.toolCallErrors[0].message).toMatch(/never closed before the next <tool_call>/);
    expect(reply.toolCalls.map((call) => call.name)).toEqual(["b"]);
  });
});

describe("parseReply: grounding", () => {
  it("returns boxes from a fenced answer in rel1000 space", () => {
    const reply = parseReply(
      'Found them.\n</think>\n\n```json\n[\n  {"bbox_2d": [10, 20, 300, 400], "label": "cat"},\n  {"bbox_2d": [500, 500, 600, 700], "label": "dog"}\n]\n```',
      { thinking: true },
    );
    expect(reply.grounding).toEqual([
      { kind: "box", bbox: [10, 20, 300, 400], label: "cat", space: "rel1000" },
      { kind: "box", bbox: [500, 500, 600, 700], label: "dog", space: "rel1000" },
    ]);
  });

  it("returns a point given as a single unfenced object", () => {
    expect(
      parseReply('The button is at {"point_2d": [925, 618], "label": "OK"}.', { thinking: false }).grounding,
    ).toEqual([{ kind: "point", point: [925, 618], label: "OK", space: "rel1000" }]);
  });
});

/** Feeds `text` split at the given cut points and collects events and the final result. */
function streamInChunks(
  text: string,
  cuts: number[],
  thinking: boolean,
): { events: ReplyEvent[]; result: ParsedReply } {
  const parser = new ReplyParser({ thinking, createId: counterIds() });
  const points = [...new Set(cuts.map((cut) => Math.min(cut, text.length)))].sort((a, b) => a - b);
  const events: ReplyEvent[] = [];
  let last = 0;
  for (const point of [...points, text.length]) {
    events.push(...parser.feed(text.slice(last, point)));
    last = point;
  }
  events.push(...parser.end());
  return { events, result: parser.result() };
}

describe("ReplyParser streaming", () => {
  it("never leaks a partial </think> or <tool_call> into deltas", () => {
    const text =
      'Reasoning here.\n</think>\n\nHello <b>world</b>.\n<tool_call>\n{"name": "x", "arguments": {}}\n</tool_call>';
    const cuts = Array.from({ length: text.length }, (_, index) => index);
    const { events, result } = streamInChunks(text, cuts, true);
    const endsWithTagStart = (value: string, tag: string) =>
      Array.from({ length: tag.length - 1 }, (_, index) => tag.slice(0, index + 1)).some((prefix) =>
        value.endsWith(prefix),
      );
    for (const event of events) {
      if (event.type === "reasoning-delta") expect(endsWithTagStart(event.text, "</think>"), event.text).toBe(false);
      if (event.type === "text-delta") expect(endsWithTagStart(event.text, "<tool_call>"), event.text).toBe(false);
      if (event.type === "reasoning-delta" || event.type === "text-delta") {
        expect(event.text).not.toContain("<tool_call");
        expect(event.text).not.toContain("</think");
      }
    }
    expect(result.reasoning).toBe("Reasoning here.");
    expect(result.content).toBe("Hello <b>world</b>.");
    expect(result.toolCalls).toHaveLength(1);
  });

  it("emits deltas as soon as they are certain", () => {
    const parser = new ReplyParser({ thinking: true });
    expect(parser.feed("Looking at the ")).toEqual([{ type: "reasoning-delta", text: "Looking at the " }]);
    expect(parser.feed("sign</th")).toEqual([{ type: "reasoning-delta", text: "sign" }]);
    expect(parser.feed("ink>\n\nIt says ")).toEqual([{ type: "text-delta", text: "It says " }]);
    expect(parser.feed("OPEN<tool")).toEqual([{ type: "text-delta", text: "OPEN" }]);
    expect(parser.feed("s are fine")).toEqual([{ type: "text-delta", text: "<tools are fine" }]);
    expect(parser.end()).toEqual([]);
  });

  const fragments = fc.constantFrom(
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
    "\n",
    "\n\n",
    " ",
    "text",
    "图片",
    '{"name": "f", "arguments": {"a": [1, 2]}}',
    "{'name': 'g', 'arguments': {'b': 'c',},}",
    '{"name": "h", "arguments": "{\\"x\\": 1}"}',
    '```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "l"}]\n```',
    "<",
    "</",
    "<tool_",
    "{",
    "]",
  );
  const replyText = fc.oneof(
    fc.array(fragments, { maxLength: 14 }).map((parts) => parts.join("")),
    fc.string({ maxLength: 60 }),
  );

  it("parseReply never throws on arbitrary text (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(replyText, fc.string({ unit: "binary", maxLength: 200 })),
        fc.boolean(),
        (text, thinking) => {
          const reply = parseReply(text, { thinking });
          expect(typeof reply.content).toBe("string");
        },
      ),
      { numRuns: 500 },
    );
  });

  it("gives the same result in any chunking as parseReply on the whole (property)", () => {
    fc.assert(
      fc.property(
        replyText,
        fc.array(fc.nat({ max: 400 }), { maxLength: 12 }),
        fc.boolean(),
        (text, cuts, thinking) => {
          const whole = parseReply(text, { thinking, createId: counterIds() });
          const { events, result } = streamInChunks(text, cuts, thinking);
          expect(result).toEqual(whole);
          // The deltas add up to the final texts, and calls are announced in order.
          const joined = (type: ReplyEvent["type"]) =>
            events
              .filter((event) => event.type === type)
              .map((event) => ("text" in event ? event.text : ""))
              .join("");
          expect(joined("reasoning-delta")).toBe(whole.reasoning);
          expect(joined("text-delta")).toBe(whole.content);
          expect(events.flatMap((event) => (event.type === "tool-call" ? [event.call] : []))).toEqual(whole.toolCalls);
        },
      ),
      { numRuns: 500 },
    );
  });
});
