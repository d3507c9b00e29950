import type { ToolChoice } from "../backend.js";

/**
 * `tool_choice` on the local engine. Sampling alone cannot promise a call, so when one is required the
 * engine writes the call's opening itself, as the template renders a call (`<tool_call>\n{"name": "…`), and
 * lets the model write the rest: right after the thinking closes (`</think>`), at the very start of a reply
 * without thinking, or in place of an end-of-turn token the model chose before it called anything (closing
 * its thinking first if still open). "required" forces the opening up to the function's name, which the
 * model picks; a named function forces the name too, so only the arguments are the model's.
 *
 * What the model writes after the opening is not constrained: a reply that still does not parse into a call
 * is for the caller to refuse (the HTTP server answers with a coded error).
 */
export class ToolCallForcing {
  readonly #opening: string | undefined;
  readonly #encode: (text: string) => number[];
  #done = false;

  constructor(choice: ToolChoice | undefined, encode: (text: string) => number[]) {
    this.#encode = encode;
    if (choice === "required") this.#opening = '<tool_call>\n{"name": "';
    else if (typeof choice === "object") {
      this.#opening = `<tool_call>\n{"name": ${JSON.stringify(choice.name)}, "arguments": `;
    }
  }

  /** Whether the opening is still to be written. */
  get pending(): boolean {
    return this.#opening !== undefined && !this.#done;
  }

  /** Tokens to write before the first sampled one: a reply without thinking opens with the call. */
  atStart(thinking: boolean): number[] {
    return thinking ? [] : this.#take("");
  }

  /** Tokens to write once the thinking has just closed (the template's blank line, then the opening). */
  afterThinking(): number[] {
    return this.#take("\n\n");
  }

  /** Tokens to write instead of an end-of-turn token sampled before any call. */
  insteadOfStop(thinkingOpen: boolean): number[] {
    return this.#take(thinkingOpen ? "\n</think>\n\n" : "");
  }

  #take(before: string): number[] {
    if (!this.pending) return [];
    this.#done = true;
    return this.#encode(`${before}${this.#opening}`);
  }
}
