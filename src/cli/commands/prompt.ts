import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import { decodeImage } from "../../model/image-decode.js";
import { type Message, messageSchema, type ToolSpec, toolSpecSchema } from "../../model/messages.js";
import { renderPrompt } from "../../model/prompt.js";
import { expandVisionPlaceholders, promptVisionParts } from "../../model/prompt-vision.js";
import { loadTokenizer } from "../../model/tokenizer.js";
import { visualTokenCount } from "../../model/vision.js";
import type { CliIO, Command } from "../command.js";

/**
 * `squint prompt <conversation.json>`: the exact text (and, with a tokenizer, the token ids) Qwen3-VL would
 * be given for a conversation — for checking what the model sees, and for comparing with other runtimes.
 */

const usage = `Usage: squint prompt <conversation.json | -> [options]

Prints the prompt Qwen3-VL is given for a conversation: a JSON list of messages, or an object
{"messages": [...], "tools": [...]} (messages in Squint's shape; "-" reads standard input).

Options:
  --instruct               render for an Instruct checkpoint (default: Thinking)
  --tools FILE             tools in OpenAI function form (a JSON list, or {"tools": [...]})
  --chat-template FILE     render this Jinja chat template instead of the native renderer
  --vision-id              number images and videos ("Picture 1: ")
  --no-generation-prompt   stop after the last message (no assistant header)
  --expand                 expand each image to its <|image_pad|> tokens (decodes local images;
                           relative paths are read from the conversation file's folder)
  --tokenizer DIR          a checkpoint directory with tokenizer.json (needed for --ids)
  --ids                    also print the token ids
  --json                   print {"prompt", "ids"?} as one JSON object
`;

// Each file may be a bare list or an object holding it; the shape is chosen first so that a validation
// error names the field at fault instead of zod's generic "Invalid input" for a failed union.
const conversationSchema = (value: unknown) =>
  Array.isArray(value)
    ? z.array(messageSchema).transform((messages) => ({ messages, tools: undefined as ToolSpec[] | undefined }))
    : z.object({ messages: z.array(messageSchema), tools: z.array(toolSpecSchema).optional() });
const toolsFileSchema = (value: unknown) =>
  Array.isArray(value)
    ? z.array(toolSpecSchema)
    : z.object({ tools: z.array(toolSpecSchema) }).transform((file) => file.tools);

async function readInput(path: string): Promise<string> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SquintError(
      code === "ENOENT" ? "NOT_FOUND" : "INVALID_ARGUMENT",
      `Cannot read ${path}: ${(error as Error).message}`,
      {
        hint: "Check the path; use - to read the conversation from standard input.",
      },
    );
  }
}

function parseJsonFile<T>(text: string, path: string, schemaFor: (value: unknown) => z.ZodType<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SquintError("INVALID_ARGUMENT", `${path} is not valid JSON: ${(error as Error).message}`, {
      hint: `Write the ${what} as JSON.`,
    });
  }
  const parsed = schemaFor(value).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw new SquintError(
      "INVALID_ARGUMENT",
      `${path} is not a valid ${what}${where}: ${issue?.message ?? "invalid"}`,
      {
        hint:
          what === "conversation"
            ? 'Give a list of {"role", "content"} messages, or {"messages": [...], "tools": [...]}.'
            : 'Give a list of {"type": "function", "function": {"name", "description", "parameters"}}.',
      },
    );
  }
  return parsed.data;
}

/** Token counts for each image placeholder, from the images themselves. */
async function imageTokenCounts(messages: Message[], thinking: boolean, baseDir: string): Promise<number[]> {
  const counts: number[] = [];
  for (const part of promptVisionParts(messages, { thinking })) {
    if (part.type === "video") {
      throw new SquintError("INVALID_ARGUMENT", "--expand does not decode videos.", {
        hint: "Leave out --expand for conversations with videos; the placeholders are printed unexpanded.",
      });
    }
    if (/^https?:/i.test(part.image)) {
      throw new SquintError("URL_NOT_ALLOWED", `--expand reads local images only, not ${part.image}.`, {
        hint: "Download the image and refer to it by path.",
      });
    }
    const source = part.image.startsWith("data:") || isAbsolute(part.image) ? part.image : resolve(baseDir, part.image);
    const image = await decodeImage(source);
    counts.push(
      visualTokenCount(image.width, image.height, {
        ...(part.minPixels === undefined ? {} : { minPixels: part.minPixels }),
        ...(part.maxPixels === undefined ? {} : { maxPixels: part.maxPixels }),
      }),
    );
  }
  return counts;
}

export const promptCommand: Command = {
  name: "prompt",
  summary: "print the exact prompt (and token ids) Qwen3-VL is given for a conversation",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        instruct: { type: "boolean", default: false },
        tools: { type: "string" },
        "chat-template": { type: "string" },
        "vision-id": { type: "boolean", default: false },
        "no-generation-prompt": { type: "boolean", default: false },
        expand: { type: "boolean", default: false },
        tokenizer: { type: "string" },
        ids: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
    });
    if (positionals.length !== 1) {
      throw new SquintError(
        "INVALID_ARGUMENT",
        positionals.length === 0
          ? "No conversation given"
          : `Expected one conversation file, got ${positionals.length}`,
        { hint: "Run `squint prompt conversation.json` (see `squint prompt --help`)." },
      );
    }
    if (values.ids && values.tokenizer === undefined) {
      throw new SquintError("INVALID_ARGUMENT", "--ids needs a tokenizer.", {
        hint: "Add --tokenizer DIR, a Qwen3-VL checkpoint directory containing tokenizer.json.",
      });
    }
    const path = positionals[0];
    const conversation = parseJsonFile(await readInput(path), path, conversationSchema, "conversation");
    const messages: Message[] = conversation.messages;
    let tools: ToolSpec[] | undefined = conversation.tools;
    if (values.tools !== undefined) {
      tools = parseJsonFile(await readInput(values.tools), values.tools, toolsFileSchema, "tool list");
    }
    const chatTemplate = values["chat-template"] === undefined ? undefined : await readInput(values["chat-template"]);
    const thinking = !values.instruct;

    let prompt = renderPrompt(messages, {
      thinking,
      tools,
      addVisionId: values["vision-id"],
      addGenerationPrompt: !values["no-generation-prompt"],
      chatTemplate,
    });
    if (values.expand) {
      const baseDir = path === "-" ? process.cwd() : dirname(resolve(path));
      prompt = expandVisionPlaceholders(prompt, {
        imageTokenCounts: await imageTokenCounts(messages, thinking, baseDir),
        videos: [],
      });
    }
    const ids =
      values.tokenizer === undefined || !values.ids
        ? undefined
        : (await loadTokenizer(values.tokenizer)).encode(prompt);

    if (values.json) {
      io.stdout.write(`${JSON.stringify(ids === undefined ? { prompt } : { prompt, ids })}\n`);
    } else {
      io.stdout.write(prompt.endsWith("\n") ? prompt : `${prompt}\n`);
      if (ids !== undefined) io.stdout.write(`\n# ${ids.length} tokens\n${ids.join(" ")}\n`);
    }
    return 0;
  },
};
