import { z } from "zod";
import { SquintError } from "../errors.js";
import { parseLenientJsonPrefix } from "../model/lenient-json.js";

/**
 * What `ui.assert` and `ui.query` ask the model, and how its answers are read. Both want JSON; a model that
 * wraps it in prose or a ```json fence, or writes it loosely, is still understood. An answer that cannot be
 * read is an error that quotes it — never a guessed verdict.
 */

export function assertionPrompt(statement: string): string {
  return [
    "You are checking a screenshot of a user interface.",
    `Statement: ${statement}`,
    'Is the statement true of this screenshot? Reply with JSON only: {"pass": true or false, "reason": "one sentence on what you see that decides it"}.',
  ].join("\n");
}

export function queryPrompt(question: string, schema: z.ZodType): string {
  return [
    "You are reading a screenshot of a user interface.",
    question,
    "Reply with JSON only, matching this JSON Schema:",
    JSON.stringify(z.toJSONSchema(schema)),
  ].join("\n");
}

/** The answer part of a reply (after a Thinking model's `</think>`). */
function answerText(reply: string): string {
  const close = reply.lastIndexOf("</think>");
  return (close >= 0 ? reply.slice(close + "</think>".length) : reply).trim();
}

/** The first JSON object or array in the answer, read leniently. */
function firstJson(answer: string): unknown {
  for (let at = 0; at < answer.length; at++) {
    const c = answer[at];
    if (c !== "{" && c !== "[") continue;
    try {
      return parseLenientJsonPrefix(answer, at).value;
    } catch {
      // Not JSON from here; look further.
    }
  }
  return undefined;
}

const verdictSchema = z.object({
  pass: z.union([z.boolean(), z.enum(["true", "false", "yes", "no"])]),
  reason: z.string().optional(),
});

export interface Verdict {
  pass: boolean;
  reason: string;
}

function shortened(reply: string): string {
  return reply.length > 300 ? `${reply.slice(0, 300)}…` : reply;
}

export function readVerdict(reply: string): Verdict {
  const answer = answerText(reply);
  const parsed = verdictSchema.safeParse(firstJson(answer));
  if (parsed.success) {
    const pass = parsed.data.pass === true || parsed.data.pass === "true" || parsed.data.pass === "yes";
    return {
      pass,
      reason: parsed.data.reason?.trim() || (pass ? "The model says it holds." : "The model says it does not hold."),
    };
  }
  // A bare yes/no is an answer too; anything else is not one.
  const bare = /^\W*(yes|true|no|false)\b[\s.,:;-]*(.*)$/is.exec(answer);
  if (bare) {
    const pass = /^(yes|true)$/i.test(bare[1]!);
    return { pass, reason: bare[2]!.trim() || `The model answered "${bare[1]}".` };
  }
  throw new SquintError("BACKEND_FAILED", "The model's answer to an assertion was not a verdict.", {
    hint: 'The model must reply {"pass": true|false, "reason": "…"}; try a larger model or rephrase the statement.',
    details: { reply: shortened(reply) },
  });
}

export function readQueryAnswer<T>(reply: string, schema: z.ZodType<T>): T {
  const answer = answerText(reply);
  const value = firstJson(answer);
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new SquintError(
      "BACKEND_FAILED",
      value === undefined ? "The model's answer held no JSON." : "The model's answer did not match the schema.",
      {
        hint: "Ask for less, make the schema's fields optional, or use a larger model.",
        details: {
          reply: shortened(reply),
          ...(value === undefined
            ? {}
            : { issues: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) }),
        },
      },
    );
  }
  return parsed.data;
}
