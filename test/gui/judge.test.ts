import { describe, expect, it } from "vitest";
import { z } from "zod";
import { SquintError } from "../../src/errors.js";
import { assertionPrompt, queryPrompt, readQueryAnswer, readVerdict } from "../../src/gui/judge.js";

describe("readVerdict", () => {
  it("reads strict, fenced, loose and thinking answers", () => {
    expect(readVerdict('{"pass": true, "reason": "The button is blue."}')).toEqual({
      pass: true,
      reason: "The button is blue.",
    });
    expect(readVerdict('Sure.\n```json\n{"pass": false, "reason": "No banner."}\n```')).toEqual({
      pass: false,
      reason: "No banner.",
    });
    expect(readVerdict("{pass: 'yes', reason: 'It says Saved',}")).toEqual({ pass: true, reason: "It says Saved" });
    expect(
      readVerdict('I see {"pass": true} in the reasoning\n</think>\n\n{"pass": false, "reason": "Nope."}'),
    ).toEqual({
      pass: false,
      reason: "Nope.",
    });
    expect(readVerdict("No, the dialog is closed.")).toEqual({ pass: false, reason: "the dialog is closed." });
  });

  it("refuses an answer that is not a verdict, quoting it", () => {
    const error = (() => {
      try {
        readVerdict("The screenshot shows a login form.");
      } catch (e) {
        return e;
      }
    })() as SquintError;
    expect(error).toBeInstanceOf(SquintError);
    expect(error.code).toBe("BACKEND_FAILED");
    expect(error.details?.reply).toBe("The screenshot shows a login form.");
  });
});

describe("readQueryAnswer", () => {
  const schema = z.object({ total: z.number(), currency: z.string() });

  it("returns the value checked against the schema", () => {
    expect(readQueryAnswer('```json\n{"total": 12.5, "currency": "EUR"}\n```', schema)).toEqual({
      total: 12.5,
      currency: "EUR",
    });
  });

  it("says which fields are wrong, or that there was no JSON", () => {
    const wrong = (() => {
      try {
        readQueryAnswer('{"total": "twelve"}', schema);
      } catch (e) {
        return e;
      }
    })() as SquintError;
    expect(wrong.code).toBe("BACKEND_FAILED");
    expect(String(wrong.details?.issues)).toContain("total");
    expect(() => readQueryAnswer("I cannot tell.", schema)).toThrow(/held no JSON/);
  });
});

describe("prompts", () => {
  it("put the statement and the schema in the prompt", () => {
    expect(assertionPrompt("the cart is empty")).toContain("Statement: the cart is empty\n");
    const prompt = queryPrompt("What is the total?", z.object({ total: z.number() }));
    expect(prompt).toContain("What is the total?");
    expect(JSON.parse(prompt.split("\n").at(-1)!)).toMatchObject({ properties: { total: { type: "number" } } });
  });
});
