/**
 * A forgiving JSON reader for what small models write where JSON is expected: single-quoted strings,
 * trailing commas, unquoted keys, Python's True/False/None, and objects or arrays left open at the end of
 * the text. Every liberty taken is listed in `repairs`, so callers can tell a clean parse from a rescued one.
 * Values are only ever completed by closing brackets after a finished value — a number or string cut off
 * mid-way is an error, because guessing its rest would invent data.
 */

export interface LenientParse {
  value: unknown;
  /** Index just past the value in the input. */
  end: number;
  /** What had to be fixed, in plain words; empty for strict JSON. */
  repairs: string[];
}

export class LenientJsonError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
    this.name = "LenientJsonError";
  }
}

/** Parses one value starting at `start` (after whitespace) and returns where it ended. */
export function parseLenientJsonPrefix(text: string, start = 0): LenientParse {
  const reader = new Reader(text, start);
  const value = reader.value();
  return { value, end: reader.position, repairs: reader.repairs };
}

/** Parses the whole text as one value; trailing non-whitespace is an error. */
export function parseLenientJson(text: string): LenientParse {
  const result = parseLenientJsonPrefix(text);
  const rest = text.slice(result.end);
  if (rest.trim() !== "")
    throw new LenientJsonError(
      `Unexpected text after the value: ${JSON.stringify(rest.trim().slice(0, 20))}`,
      result.end,
    );
  return result;
}

const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_$-]*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Reader {
  readonly repairs: string[] = [];
  private depth = 0;

  constructor(
    private readonly text: string,
    public position: number,
  ) {}

  value(): unknown {
    this.skipSpace();
    if (this.depth > 200) throw new LenientJsonError("Nesting too deep", this.position);
    const char = this.text[this.position];
    if (char === undefined) throw new LenientJsonError("Unexpected end of text", this.position);
    if (char === "{") return this.object();
    if (char === "[") return this.array();
    if (char === '"' || char === "'") return this.string();
    if (char === "-" || (char >= "0" && char <= "9")) return this.number();
    return this.literal();
  }

  private object(): Record<string, unknown> {
    this.position++;
    this.depth++;
    const result: Record<string, unknown> = {};
    for (;;) {
      this.skipSpace();
      const char = this.text[this.position];
      if (char === undefined) {
        this.repairs.push("closed an unclosed object");
        break;
      }
      if (char === "}") {
        this.position++;
        break;
      }
      const key = this.key();
      this.skipSpace();
      if (this.text[this.position] !== ":") throw new LenientJsonError("Expected ':' after a key", this.position);
      this.position++;
      // defineProperty, not assignment: a "__proto__" key from model output must stay a plain key (as in JSON.parse).
      Object.defineProperty(result, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      if (this.separator("}", "object")) break;
    }
    this.depth--;
    return result;
  }

  private array(): unknown[] {
    this.position++;
    this.depth++;
    const result: unknown[] = [];
    for (;;) {
      this.skipSpace();
      const char = this.text[this.position];
      if (char === undefined) {
        this.repairs.push("closed an unclosed array");
        break;
      }
      if (char === "]") {
        this.position++;
        break;
      }
      result.push(this.value());
      if (this.separator("]", "array")) break;
    }
    this.depth--;
    return result;
  }

  /** After a member: a comma (maybe trailing), the closing bracket, or the end of text. Returns true when closed. */
  private separator(close: string, kind: string): boolean {
    this.skipSpace();
    const char = this.text[this.position];
    if (char === ",") {
      this.position++;
      this.skipSpace();
      if (this.text[this.position] === close) {
        this.repairs.push(`removed a trailing comma in an ${kind}`);
        this.position++;
        return true;
      }
      return false;
    }
    if (char === close) {
      this.position++;
      return true;
    }
    if (char === undefined) {
      this.repairs.push(`closed an unclosed ${kind}`);
      return true;
    }
    throw new LenientJsonError(`Expected ',' or '${close}' in an ${kind}`, this.position);
  }

  private key(): string {
    const char = this.text[this.position];
    if (char === '"' || char === "'") return this.string();
    IDENTIFIER.lastIndex = this.position;
    const match = IDENTIFIER.exec(this.text);
    if (!match) throw new LenientJsonError("Expected a key", this.position);
    this.position += match[0].length;
    this.repairs.push(`quoted the bare key ${match[0]}`);
    return match[0];
  }

  private string(): string {
    const quote = this.text[this.position];
    if (quote === "'") this.repairs.push("read a single-quoted string");
    let out = "";
    let index = this.position + 1;
    for (;;) {
      const char = this.text[index];
      if (char === undefined) throw new LenientJsonError("Unterminated string", this.position);
      if (char === quote) break;
      if (char === "\\") {
        const next = this.text[index + 1];
        const simple: Record<string, string> = {
          '"': '"',
          "'": "'",
          "\\": "\\",
          "/": "/",
          b: "\b",
          f: "\f",
          n: "\n",
          r: "\r",
          t: "\t",
        };
        if (next !== undefined && next in simple) {
          out += simple[next];
          index += 2;
          continue;
        }
        if (next === "u" && /^[0-9a-fA-F]{4}$/.test(this.text.slice(index + 2, index + 6))) {
          out += String.fromCharCode(Number.parseInt(this.text.slice(index + 2, index + 6), 16));
          index += 6;
          continue;
        }
        throw new LenientJsonError("Invalid escape in a string", index);
      }
      if (char === "\n" || char === "\r") this.repairs.push("kept a raw line break inside a string");
      out += char;
      index++;
    }
    this.position = index + 1;
    return out;
  }

  private number(): number {
    NUMBER.lastIndex = this.position;
    const match = NUMBER.exec(this.text);
    if (!match) throw new LenientJsonError("Invalid number", this.position);
    this.position += match[0].length;
    // A number running into the end of the text may have been cut off: refuse to guess its digits.
    if (this.position >= this.text.length && this.depth > 0)
      throw new LenientJsonError("Number cut off by the end of text", this.position);
    return Number(match[0]);
  }

  private literal(): unknown {
    IDENTIFIER.lastIndex = this.position;
    const match = IDENTIFIER.exec(this.text);
    const word = match?.[0];
    const literals: Record<string, unknown> = {
      true: true,
      false: false,
      null: null,
      True: true,
      False: false,
      None: null,
    };
    if (word === undefined || !(word in literals)) throw new LenientJsonError("Unexpected character", this.position);
    if (word !== "true" && word !== "false" && word !== "null") this.repairs.push(`read Python's ${word}`);
    this.position += word.length;
    return literals[word];
  }

  private skipSpace(): void {
    while (this.position < this.text.length && /\s/.test(this.text[this.position])) this.position++;
  }
}
