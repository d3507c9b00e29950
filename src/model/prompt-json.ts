/**
 * `json.dumps` as transformers' `tojson` filter calls it (spec §5): `", "` and `": "` separators, keys in
 * insertion order, `ensure_ascii=False`. The model saw tool schemas and tool-call arguments printed this way
 * in training, so the bytes matter: `JSON.stringify` differs in separators and in how it prints small floats.
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return pythonNumber(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return pythonString(value);
  if (Array.isArray(value)) return `[${value.map((item) => pythonJsonDumps(item)).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([key, item]) => `${pythonString(key)}: ${pythonJsonDumps(item)}`,
    );
    return `{${entries.join(", ")}}`;
  }
  // Functions and symbols have no JSON form; Python would raise, we print null as JSON.stringify would in arrays.
  return "null";
}

function pythonNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  // JSON numbers without a fraction arrive in Python as int, which prints every digit.
  if (Number.isInteger(value))
    return Math.abs(value) < 1e16 ? String(value === 0 ? 0 : value) : BigInt(value).toString();
  // Python's float repr switches to exponent form below 1e-4 (JS only below 1e-6) and pads the exponent to 2 digits.
  if (Math.abs(value) >= 1e-4) return String(value);
  const [mantissa, exponent] = value.toExponential().split("e");
  const sign = exponent.startsWith("-") ? "-" : "+";
  return `${mantissa}e${sign}${exponent.replace(/^[+-]/, "").padStart(2, "0")}`;
}

const shortEscapes: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

function pythonString(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters JSON must escape.
  const escaped = text.replace(/["\\\u0000-\u001f]/g, (char) => {
    return shortEscapes[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
  return `"${escaped}"`;
}
