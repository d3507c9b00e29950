import { readFile } from "node:fs/promises";

/**
 * The recogniser's classes: 0 is the CTC blank, 1..n are the dictionary's lines in order, and n+1 is a
 * space (PaddleOCR's `use_space_char`). The model's class count must be n + 2.
 */
export interface CtcAlphabet {
  symbols: string[];
  blank: number;
  space: number;
}

export async function loadAlphabet(path: string): Promise<CtcAlphabet> {
  const text = await readFile(path, "utf8");
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  const symbols = ["", ...lines, " "];
  return { symbols, blank: 0, space: symbols.length - 1 };
}
