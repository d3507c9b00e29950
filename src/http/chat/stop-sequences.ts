/**
 * OpenAI's `stop`: the answer ends before the first stop string, which is never sent. Text streams in
 * pieces, so the filter holds back the longest tail that could still be the start of a stop string, and
 * releases it once it cannot be (or at the end).
 */
export class StopFilter {
  readonly #stops: string[];
  readonly #hold: number;
  #pending = "";
  #stopped = false;

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((stop) => stop.length > 0);
    this.#hold = Math.max(0, ...this.#stops.map((stop) => stop.length - 1));
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** The text that may be sent now; after a stop string, nothing more. */
  push(text: string): string {
    if (this.#stopped) return "";
    if (this.#stops.length === 0) return text;
    this.#pending += text;
    let cut = -1;
    for (const stop of this.#stops) {
      const at = this.#pending.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.#stopped = true;
      const out = this.#pending.slice(0, cut);
      this.#pending = "";
      return out;
    }
    const keep = Math.min(this.#hold, this.#pending.length);
    const out = this.#pending.slice(0, this.#pending.length - keep);
    this.#pending = this.#pending.slice(this.#pending.length - keep);
    return out;
  }

  /** What was held back, at the end of the generation. */
  flush(): string {
    const out = this.#stopped ? "" : this.#pending;
    this.#pending = "";
    return out;
  }
}
