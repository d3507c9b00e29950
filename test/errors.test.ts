import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  isSquintError,
  parseWith,
  SQUINT_ERROR_CODES,
  SquintError,
  type SquintErrorCode,
  toSquintError,
  zodError,
} from "../src/errors.js";

const repoRoot = join(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

const sources = sourceFiles(join(repoRoot, "src")).map((path) => ({
  path: path.slice(repoRoot.length + 1),
  text: readFileSync(path, "utf8"),
}));

/** The rows of the README's "Errors" table: code, meaning, action. */
function readmeErrorRows(): [string, string, string][] {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Errors\n"));
  const body = section.slice(0, section.indexOf("\n## ", 1));
  return body
    .split("\n")
    .filter((line) => /^\| `[A-Z_0-9]+` \|/.test(line))
    .map((line) => {
      const cells = line
        .slice(1, -1)
        .split(" | ")
        .map((cell) => cell.trim());
      return [cells[0]!.replaceAll("`", ""), cells[1]!, cells[2]!];
    });
}

/** Errors made but never thrown at a caller: each is handed to an API that needs exactly this shape. */
const notThrown: [file: string, snippet: string][] = [
  // A JSON-RPC error object for the MCP SDK (numeric code); the SquintError travels in its `data`.
  ["src/mcp/server-tools.ts", "Object.assign(new Error(formatError(error)), { code, data: error.toJSON() })"],
  // An ErrnoException for Node's dns lookup callback; the fetch turns it into URL_NOT_ALLOWED/DOWNLOAD_FAILED.
  ["src/tools/sources/url.ts", "has no address`)"],
];

describe("the error codes", () => {
  it("are the README's table, row for row, with the same words", () => {
    const fromCode = Object.entries(SQUINT_ERROR_CODES).map(([code, { meaning, action }]) => [code, meaning, action]);
    expect(readmeErrorRows()).toEqual(fromCode);
  });

  it("each say what they mean and what to do", () => {
    for (const [code, { meaning, action }] of Object.entries(SQUINT_ERROR_CODES)) {
      expect(meaning.length, code).toBeGreaterThan(20);
      expect(action.length, code).toBeGreaterThan(10);
    }
  });

  it("are each thrown (or returned) somewhere in src/", () => {
    const users = sources.filter((file) => file.path !== "src/errors.ts" && file.path !== "src/http/error-reply.ts");
    const unused = Object.keys(SQUINT_ERROR_CODES).filter(
      (code) => !users.some((file) => file.text.includes(`"${code}"`)),
    );
    expect(unused).toEqual([]);
  });

  it("are the only errors src/ throws: no plain Error", () => {
    const plain = sources.flatMap((file) =>
      file.text
        .split("\n")
        .map((line, index) => ({ line, at: `${file.path}:${index + 1}` }))
        .filter(({ line }) => /\bnew (Error|TypeError|RangeError)\(/.test(line))
        .filter(
          ({ at, line }) => !notThrown.some(([file, snippet]) => at.startsWith(`${file}:`) && line.includes(snippet)),
        )
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(plain).toEqual([]);
  });
});

describe("isSquintError", () => {
  it("recognises a SquintError from another copy of the module, where instanceof fails", async () => {
    vi.resetModules();
    // A query string makes the module loader evaluate the file again: a second copy, as two installs would be.
    const secondCopy = "../src/errors.js?another-copy";
    const other = (await import(secondCopy)) as typeof import("../src/errors.js");
    expect(other.SquintError).not.toBe(SquintError);
    const foreign = new other.SquintError("NOT_FOUND", "from the other copy", { hint: "look elsewhere" });
    expect(foreign instanceof SquintError).toBe(false);
    expect(isSquintError(foreign)).toBe(true);
    expect(other.isSquintError(new SquintError("ABORTED", "from this copy"))).toBe(true);
    // toSquintError keeps it as it is rather than wrapping it as INTERNAL.
    expect(toSquintError(foreign)).toBe(foreign);
  });

  it("is false for lookalikes: a plain Error with a code, a plain object, null", () => {
    expect(isSquintError(Object.assign(new Error("x"), { code: "NOT_FOUND", name: "SquintError" }))).toBe(false);
    expect(isSquintError({ code: "NOT_FOUND", message: "x" })).toBe(false);
    expect(isSquintError(null)).toBe(false);
    expect(isSquintError("NOT_FOUND")).toBe(false);
  });
});

describe("zod failures", () => {
  const schema = z.object({ width: z.number().int().positive(), name: z.string() });

  it("become one SquintError shape: what, then path: message for each issue, the issues in details", () => {
    const parsed = schema.safeParse({ width: -2 });
    expect(parsed.success).toBe(false);
    const error = zodError(parsed.error!, "Invalid image options", { hint: "Use a positive width." });
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message).toMatch(/^Invalid image options: width: .+; name: .+$/);
    expect(error.hint).toBe("Use a positive width.");
    expect(error.details?.issues).toEqual([
      { path: ["width"], message: expect.any(String) },
      { path: ["name"], message: expect.any(String) },
    ]);
  });

  it("parseWith returns the data or throws with the code it is given", () => {
    expect(parseWith(schema, { width: 3, name: "a" }, "x")).toEqual({ width: 3, name: "a" });
    const thrown = (() => {
      try {
        parseWith(schema, { width: 3 }, "config.json", { code: "INVALID_CONFIG" });
      } catch (error) {
        return error;
      }
    })();
    expect(isSquintError(thrown) && (thrown.code as SquintErrorCode)).toBe("INVALID_CONFIG");
    expect((thrown as SquintError).message).toContain("config.json: name:");
  });
});
