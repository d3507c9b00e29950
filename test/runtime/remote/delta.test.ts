import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseReply } from "../../../src/model/reply.js";
import type { BackendEvent } from "../../../src/runtime/backend.js";
import { DeltaInterpreter, type DeltaInterpreterOptions } from "../../../src/runtime/remote/delta.js";

type Delta = { content?: string; reasoning?: string; reasoning_content?: string; tool_calls?: unknown[] };

function run(deltas: Delta[], options: DeltaInterpreterOptions, finish = "stop"): BackendEvent[] {
  let next = 0;
  const interpreter = new DeltaInterpreter({ createId: () => `id${next++}`, ...options });
  const events = deltas.flatMap((delta) => interpreter.push({ choices: [{ index: 0, delta, finish_reason: null }] }));
  events.push(...interpreter.push({ choices: [{ index: 0, delta: {}, finish_reason: finish }] }));
  return [...events, ...interpreter.end()];
}

const joined = (events: BackendEvent[], type: "reasoning-delta" | "text-delta") =>
  events.flatMap((event) => (event.type === type ? [event.text] : [])).join("");
const calls = (events: BackendEvent[]) => events.flatMap((event) => (event.type === "tool-call" ? [event.call] : []));

function split(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let start = 0;
  for (const point of [...points, text.length]) {
    pieces.push(text.slice(start, point));
    start = point;
  }
  return pieces.filter((piece) => piece !== "");
}

describe("DeltaInterpreter", () => {
  it("reads a server without parsers exactly as the model's own parser reads the whole reply (property)", () => {
    const fragment = fc.constantFrom(
      "thinking ",
      "</think>",
      "\n\n",
      "answer",
      "<tool_call>",
      "</tool_call>",
      '{"name": "zoom", "arguments": {"bbox_2d": [1, 2, 3, 4]}}',
      "\n",
      "<",
    );
    fc.assert(
      fc.property(
        fc.array(fragment, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        (pieces, cuts, thinking) => {
          const text = pieces.join("");
          const events = run(
            split(text, cuts).map((content) => ({ content })),
            { thinking },
          );
          let next = 0;
          const expected = parseReply(text, { thinking, createId: () => `id${next++}` });
          expect(joined(events, "text-delta")).toBe(expected.content);
          if (expected.toolCalls.length === 0 && expected.content === "") {
            // Calls written inside unfinished reasoning may be taken out of it (the in-reasoning fallback).
            expect(joined(events, "reasoning-delta").length).toBeLessThanOrEqual(expected.reasoning.length);
          } else {
            expect(joined(events, "reasoning-delta")).toBe(expected.reasoning);
            expect(calls(events)).toEqual(expected.toolCalls);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("treats content as the answer once reasoning came in its own field", () => {
    const events = run([{ reasoning: "R" }, { content: "A</think>B" }], { thinking: true });
    expect(joined(events, "reasoning-delta")).toBe("R");
    expect(joined(events, "text-delta")).toBe("A</think>B");
  });

  it("still splits at a </think> the server left in the reasoning field", () => {
    const events = run([{ reasoning_content: "R\n</thi" }, { reasoning_content: "nk>\n\nanswer" }], { thinking: true });
    expect(joined(events, "reasoning-delta")).toBe("R");
    expect(joined(events, "text-delta")).toBe("answer");
  });

  it("honours serverSplitsReasoning: true for a Thinking reply with empty reasoning", () => {
    expect(joined(run([{ content: "Just the answer." }], { thinking: true }), "reasoning-delta")).toBe(
      "Just the answer.",
    );
    expect(
      joined(run([{ content: "Just the answer." }], { thinking: true, serverSplitsReasoning: true }), "text-delta"),
    ).toBe("Just the answer.");
  });

  it("assembles interleaved native call fragments by index and reports unreadable arguments", () => {
    const events = run(
      [
        { tool_calls: [{ index: 0, id: "a", function: { name: "crop", arguments: '{"box": [1,' } }] },
        { tool_calls: [{ index: 1, id: "b", function: { name: "ocr", arguments: "{'lang': " } }] },
        { tool_calls: [{ index: 0, function: { arguments: " 2]}" } }] },
        { tool_calls: [{ index: 1, function: { arguments: "'en'}" } }] },
        { tool_calls: [{ index: 2, id: "c", function: { name: "bad", arguments: "{nope" } }] },
      ],
      { thinking: false },
      "tool_calls",
    );
    expect(calls(events)).toEqual([
      { id: "a", name: "crop", arguments: { box: [1, 2] } },
      { id: "b", name: "ocr", arguments: { lang: "en" } },
    ]);
    expect(events.filter((event) => event.type === "tool-call-error")).toMatchObject([{ raw: "bad {nope" }]);
    expect(events[events.length - 1]).toEqual({ type: "finish", reason: "tool-calls" });
  });

  it("does not take calls out of the reasoning when the reply also answered", () => {
    const events = run([{ reasoning: 'Maybe <tool_call>{"name": "a"}</tool_call>' }, { content: "No need." }], {
      thinking: true,
    });
    expect(calls(events)).toEqual([]);
    expect(joined(events, "reasoning-delta")).toBe('Maybe <tool_call>{"name": "a"}</tool_call>');
  });

  it("refuses chunks that are not chat completion chunks, and surfaces error objects", () => {
    const interpreter = new DeltaInterpreter({ thinking: false });
    expect(() => interpreter.push({ choices: "nope" })).toThrow(/not a chat completion chunk/);
    expect(() => interpreter.push({ object: "error", message: "boom" })).toThrow(/mid-stream: boom/);
  });
});
