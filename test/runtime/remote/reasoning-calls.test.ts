import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { callTailStart, TrailingCallCatcher } from "../../../src/runtime/remote/reasoning-calls.js";

describe("callTailStart", () => {
  it.each([
    ["plain reasoning", "I think so.", 11],
    ["one closed block at the end", 'Look.\n<tool_call>{"name": "a"}</tool_call>\n', 5],
    ["two blocks", "Hm <tool_call>1</tool_call>\n<tool_call>2</tool_call>", 2],
    ["an unclosed last block", "Go <tool_call>{", 2],
    ["a partial tag", "Go <tool_c", 2],
    ["prose after a block", "A <tool_call>1</tool_call> but no", 33],
  ])("%s", (_name, text, start) => {
    expect(callTailStart(text)).toBe(start);
  });
});

describe("TrailingCallCatcher", () => {
  it("releases prose and holds a trailing call run until told", () => {
    const catcher = new TrailingCallCatcher();
    expect(catcher.push("Need a closer look. <tool_")).toBe("Need a closer look.");
    expect(catcher.push('call>{"name": "zoom"}</tool_call>')).toBe("");
    expect(catcher.takeCalls()).toBe(' <tool_call>{"name": "zoom"}</tool_call>');
    expect(catcher.release()).toBe("");
  });

  it("gives held text back as reasoning when more prose follows", () => {
    const catcher = new TrailingCallCatcher();
    expect(catcher.push("Maybe <tool_call>x</tool_call>")).toBe("Maybe");
    expect(catcher.push(" — no, not yet.")).toBe(" <tool_call>x</tool_call> — no, not yet.");
    expect(catcher.takeCalls()).toBeUndefined();
  });

  it("loses and duplicates nothing, whatever the chunking (property)", () => {
    const piece = fc.constantFrom("<tool_call>", "</tool_call>", "<tool_", "call>", "{}", " ", "\n", "text", "<");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (pieces) => {
        const catcher = new TrailingCallCatcher();
        const released = pieces.map((chunk) => catcher.push(chunk)).join("");
        const whole = pieces.join("");
        expect(released + catcher.release()).toBe(whole);
        // What is held is always exactly the call tail of everything seen.
        const again = new TrailingCallCatcher();
        expect(again.push(whole)).toBe(whole.slice(0, callTailStart(whole)));
      }),
      { numRuns: 300 },
    );
  });
});
