/**
 * Text from outside (a model's reasoning and answer, tool labels, an MCP server's or a model server's error
 * text) made safe to write to a terminal: every escape and control sequence is removed, so it cannot write
 * the clipboard (OSC 52), clear the screen, retitle the window, move the cursor to overwrite what was printed,
 * or send the terminal's answers back as input (issue 10). Newlines and tabs stay; a lone carriage return
 * (which rewrites the line) and backspaces go. Printable text, any script, is kept as it is.
 *
 * Squint's own styling (dimmed reasoning) is added after this, never passed through it.
 */

/** Introducers of a control string that runs until BEL or ST: OSC, DCS, SOS, PM, APC (7- and 8-bit). */
const STRING_INTRODUCER = "(?:\\u001b[\\]PX^_]|[\\u0090\\u0098\\u009d\\u009e\\u009f])";
const STRING_TERMINATOR = "(?:\\u0007|\\u001b\\\\|\\u009c)";

const SEQUENCE = new RegExp(
  [
    // Control strings, up to their terminator or, unterminated, the end of the text.
    `${STRING_INTRODUCER}[\\s\\S]*?(?:${STRING_TERMINATOR}|$)`,
    // CSI: ESC [ or 8-bit CSI, parameters, intermediates, one final byte.
    "(?:\\u001b\\[|\\u009b)[0-?]*[ -/]*[@-~]?",
    // Other escapes: ESC, intermediates, one final byte (ESC c resets the terminal, ESC ( 0 switches charset).
    "\\u001b[ -/]*[0-~]?",
  ].join("|"),
  "g",
);

/** C0 controls but tab and newline, DEL, and C1 controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `text` with every terminal escape sequence and control character removed (a whole string at a time). */
export function terminalSafe(text: string): string {
  return text.replace(/\r\n/g, "\n").replace(SEQUENCE, "").replace(CONTROL, "");
}

const COMPLETE_STRING = new RegExp(`^${STRING_INTRODUCER}[\\s\\S]*?${STRING_TERMINATOR}`);
const STRING_START = new RegExp(`^${STRING_INTRODUCER}`);
// biome-ignore lint/suspicious/noControlCharactersInRegex: an escape sequence still being written.
const OPEN_ESCAPE = /^(?:\u001b|\u001b\[[0-?]*[ -/]*|\u009b[0-?]*[ -/]*|\u001b[ -/]+)$/;
/** The last place a sequence may start. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: escape and 8-bit introducers.
const INTRODUCER = /[\u001b\u0090\u0098\u009b\u009d\u009e\u009f]/g;

// biome-ignore lint/suspicious/noControlCharactersInRegex: BEL and the two forms of ST.
const TERMINATOR = /\u0007|\u001b\\|\u009c/;

/** An unterminated control string longer than this is dropped, and the rest of it skipped as it arrives. */
const MAX_HELD_CHARS = 64 * 1024;

/**
 * terminalSafe for text that arrives in pieces (a streamed reply): a sequence cut between two pieces is held
 * until it is complete, then removed whole, so not even its printable tail (a clipboard payload) shows.
 */
export class TerminalTextStream {
  #held = "";
  /** Inside a control string too long to hold: skip until its terminator. */
  #skipping = false;

  write(piece: string): string {
    let text = this.#held + piece;
    this.#held = "";
    if (this.#skipping) {
      const end = TERMINATOR.exec(text);
      if (!end) {
        // Keep a trailing ESC: it may be the first half of the terminator.
        this.#held = text.endsWith("\u001b") ? "\u001b" : "";
        return "";
      }
      this.#skipping = false;
      text = text.slice(end.index + end[0].length);
    }
    const start = lastIntroducer(text);
    if (start !== -1 && isOpen(text.slice(start))) {
      const open = text.slice(start);
      text = text.slice(0, start);
      if (open.length <= MAX_HELD_CHARS) this.#held = open;
      else this.#skipping = true;
    }
    return terminalSafe(text);
  }

  /** What is held at the end of the stream (an unfinished sequence), made safe. */
  flush(): string {
    const text = this.#held;
    this.#held = "";
    this.#skipping = false;
    return terminalSafe(text);
  }
}

function lastIntroducer(text: string): number {
  let last = -1;
  INTRODUCER.lastIndex = 0;
  for (let match = INTRODUCER.exec(text); match; match = INTRODUCER.exec(text)) last = match.index;
  return last;
}

/** True when `sequence` (starting at an introducer) may still go on in the next piece. */
function isOpen(sequence: string): boolean {
  if (STRING_START.test(sequence)) return !COMPLETE_STRING.test(sequence);
  return OPEN_ESCAPE.test(sequence);
}
