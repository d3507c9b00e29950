import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { z } from "zod";
import { SquintError, zodError } from "../errors.js";

/**
 * The Qwen3-VL tokenizer: byte-level BPE from a checkpoint's tokenizer.json, with no BOS (spec §1.3), the
 * control tokens looked up by name, and decoding that drops only the *special* tokens — `<think>`,
 * `<tool_call>` and `<tool_response>` are ordinary added tokens and stay in decoded text so that the reply
 * parser can see them.
 */

/** The control tokens Squint refers to, by role. */
export const specialTokenStrings = {
  endOfText: "<|endoftext|>",
  imStart: "<|im_start|>",
  imEnd: "<|im_end|>",
  objectRefStart: "<|object_ref_start|>",
  objectRefEnd: "<|object_ref_end|>",
  boxStart: "<|box_start|>",
  boxEnd: "<|box_end|>",
  quadStart: "<|quad_start|>",
  quadEnd: "<|quad_end|>",
  visionStart: "<|vision_start|>",
  visionEnd: "<|vision_end|>",
  visionPad: "<|vision_pad|>",
  imagePad: "<|image_pad|>",
  videoPad: "<|video_pad|>",
  toolCall: "<tool_call>",
  toolCallEnd: "</tool_call>",
  toolResponse: "<tool_response>",
  toolResponseEnd: "</tool_response>",
  think: "<think>",
  thinkEnd: "</think>",
} as const;

export type SpecialTokenName = keyof typeof specialTokenStrings;
export type SpecialTokenIds = Record<SpecialTokenName, number>;

const addedTokenSchema = z
  .object({ id: z.number().int().nonnegative(), content: z.string(), special: z.boolean() })
  .loose();

const tokenizerJsonSchema = z
  .object({
    model: z.object({ type: z.string().optional(), vocab: z.record(z.string(), z.number()) }).loose(),
    added_tokens: z.array(addedTokenSchema).default([]),
  })
  .loose();

const chatTemplateField = z.union([z.string(), z.array(z.object({ name: z.string(), template: z.string() }))]);

const tokenizerConfigSchema = z
  .object({
    chat_template: chatTemplateField.optional(),
    eos_token: z.union([z.string(), z.object({ content: z.string() }).loose()]).nullish(),
    pad_token: z.union([z.string(), z.object({ content: z.string() }).loose()]).nullish(),
  })
  .loose();

export interface DecodeOptions {
  /** Drop tokens flagged `special` (im_start, vision pads …). `<think>`/`<tool_call>` are not special. Default false. */
  skipSpecialTokens?: boolean;
}

export class QwenTokenizer {
  /** Ids of the control tokens by name. */
  readonly special: SpecialTokenIds;
  /** Generation stops on either (spec §1.3: `<|im_end|>`, `<|endoftext|>`). */
  readonly stopTokenIds: readonly number[];
  /** The checkpoint's own chat template when it ships one (tokenizer_config.json, chat_template.json/.jinja). */
  readonly chatTemplate: string | undefined;
  /** Number of ids the tokenizer knows (base vocabulary + added tokens); the model's embedding may be larger. */
  readonly size: number;
  private readonly tokenizer: Tokenizer;
  private readonly specialIds: ReadonlySet<number>;

  private constructor(tokenizer: Tokenizer, special: SpecialTokenIds, specialIds: Set<number>, chatTemplate?: string) {
    this.tokenizer = tokenizer;
    this.special = special;
    this.specialIds = specialIds;
    this.stopTokenIds = [special.imEnd, special.endOfText];
    this.chatTemplate = chatTemplate;
    this.size = tokenizer.get_vocab(true).size;
  }

  /**
   * Builds a tokenizer from the parsed JSON files. `source` names where they came from, for error messages.
   */
  static fromJSON(
    tokenizerJson: unknown,
    tokenizerConfig: unknown = {},
    options: { chatTemplate?: string | undefined; source?: string | undefined } = {},
  ): QwenTokenizer {
    const source = options.source ?? "tokenizer.json";
    const parsedJson = tokenizerJsonSchema.safeParse(tokenizerJson);
    if (!parsedJson.success) {
      throw zodError(parsedJson.error, `${source} is not a Hugging Face tokenizer.json`, {
        code: "TOKENIZER_FAILED",
        hint: "Point at a checkpoint directory that contains the model's tokenizer.json.",
      });
    }
    const parsedConfig = tokenizerConfigSchema.safeParse(tokenizerConfig ?? {});
    if (!parsedConfig.success) {
      throw zodError(parsedConfig.error, `tokenizer_config.json beside ${source} is malformed`, {
        code: "TOKENIZER_FAILED",
        hint: "Use the tokenizer_config.json that ships with the checkpoint.",
      });
    }
    const added = new Map(parsedJson.data.added_tokens.map((token) => [token.content, token]));
    const missing: string[] = [];
    const special = {} as SpecialTokenIds;
    for (const [name, text] of Object.entries(specialTokenStrings) as [SpecialTokenName, string][]) {
      const id = added.get(text)?.id ?? parsedJson.data.model.vocab[text];
      if (id === undefined) missing.push(text);
      else special[name] = id;
    }
    if (missing.length > 0) {
      throw new SquintError("NOT_QWEN3_VL", `${source} lacks the Qwen3-VL control tokens ${missing.join(", ")}.`, {
        hint: "Use the tokenizer of a Qwen3-VL checkpoint (Qwen/Qwen3-VL-*).",
        details: { missing },
      });
    }
    let tokenizer: Tokenizer;
    try {
      // The library reads fields we have only validated loosely; it wants the original objects.
      tokenizer = new Tokenizer(tokenizerJson as object, (tokenizerConfig ?? {}) as object);
    } catch (error) {
      throw new SquintError("TOKENIZER_FAILED", `Could not build the tokenizer from ${source}: ${String(error)}`, {
        hint: "The file may be truncated or from an unsupported tokenizer type; re-download the checkpoint.",
        cause: error,
      });
    }
    const specialIds = new Set(parsedJson.data.added_tokens.filter((token) => token.special).map((token) => token.id));
    const template = options.chatTemplate ?? pickChatTemplate(parsedConfig.data.chat_template);
    return new QwenTokenizer(tokenizer, special, specialIds, template);
  }

  /** Encodes text as the model sees it: control tokens written in the text become their ids; no BOS is added. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const list = Array.from(ids);
    for (const id of list) {
      if (!Number.isInteger(id) || id < 0) {
        throw new SquintError("INVALID_ARGUMENT", `Token id ${id} is not a non-negative integer.`, {
          hint: "Pass token ids produced by this tokenizer or the model.",
        });
      }
    }
    // Ids past the tokenizer (padding rows of the embedding) have no text; drop them rather than print "undefined".
    const known = list.filter((id) => id < this.size);
    if (known.length === 0) return "";
    return this.tokenizer.decode(known, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** A decoder for ids arriving one at a time (see TokenStreamDecoder). */
  streamDecoder(options: DecodeOptions = {}): TokenStreamDecoder {
    return new TokenStreamDecoder(this, options);
  }
}

function pickChatTemplate(field: z.infer<typeof chatTemplateField> | undefined): string | undefined {
  if (field === undefined) return undefined;
  if (typeof field === "string") return field;
  return (field.find((entry) => entry.name === "default") ?? field[0])?.template;
}

/**
 * Turns a stream of token ids into text deltas. Byte-level BPE can split one character over several tokens
 * (an emoji is often three), so a delta is released only once the text decoded so far no longer ends in an
 * incomplete character; only the ids not yet emitted are decoded, which keeps each step cheap.
 */
export class TokenStreamDecoder {
  private readonly ids: number[] = [];
  /** First id whose text has not been emitted yet. */
  private windowStart = 0;

  constructor(
    private readonly tokenizer: QwenTokenizer,
    private readonly options: DecodeOptions,
  ) {}

  /** Adds one id; returns the text that became final (possibly empty). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.tokenizer.decode(this.ids.slice(this.windowStart), this.options);
    // A UTF-8 character spans at most 4 bytes, hence at most 4 tokens: past that the bytes are invalid for
    // good (a random checkpoint emits such runs) and holding them back longer would only stall the stream.
    if (text.endsWith("\uFFFD") && this.ids.length - this.windowStart < 4) return "";
    // Everything so far ends on a character boundary: the next decode can start afresh after it.
    this.windowStart = this.ids.length;
    return text;
  }

  /** Whatever is still held back (an incomplete character at the end of the stream decodes as U+FFFD). */
  flush(): string {
    const text = this.tokenizer.decode(this.ids.slice(this.windowStart), this.options);
    this.windowStart = this.ids.length;
    return text;
  }
}

const tokenizerCache = new Map<string, Promise<QwenTokenizer>>();

/**
 * Loads the tokenizer of a checkpoint directory (tokenizer.json, tokenizer_config.json and, when present,
 * chat_template.json or chat_template.jinja, which newer checkpoints use instead of the config field).
 * Loads are cached per directory: parsing an 11 MB tokenizer.json takes over a second.
 */
export function loadTokenizer(directory: string): Promise<QwenTokenizer> {
  directory = resolve(directory);
  let pending = tokenizerCache.get(directory);
  if (!pending) {
    pending = readTokenizer(directory);
    tokenizerCache.set(directory, pending);
    pending.catch(() => tokenizerCache.delete(directory));
  }
  return pending;
}

async function readTokenizer(directory: string): Promise<QwenTokenizer> {
  const tokenizerPath = join(directory, "tokenizer.json");
  const tokenizerJson = await readJson(tokenizerPath, true);
  const config = await readJson(join(directory, "tokenizer_config.json"), false);
  const templateJson = await readJson(join(directory, "chat_template.json"), false);
  const templateJinja = await readText(join(directory, "chat_template.jinja"));
  const fromJson = z.object({ chat_template: chatTemplateField }).loose().safeParse(templateJson);
  const chatTemplate = templateJinja ?? (fromJson.success ? pickChatTemplate(fromJson.data.chat_template) : undefined);
  return QwenTokenizer.fromJSON(tokenizerJson, config ?? {}, { source: tokenizerPath, chatTemplate });
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SquintError("TOKENIZER_FAILED", `Could not read ${path}: ${(error as Error).message}`, {
      hint: "Check the file's permissions.",
      cause: error,
    });
  }
}

async function readJson(path: string, required: boolean): Promise<unknown> {
  const text = await readText(path);
  if (text === undefined) {
    if (!required) return undefined;
    throw new SquintError("NOT_FOUND", `No tokenizer.json at ${path}.`, {
      hint: "Pass a Qwen3-VL checkpoint directory (it holds tokenizer.json and tokenizer_config.json).",
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SquintError("TOKENIZER_FAILED", `${path} is not valid JSON.`, {
      hint: "The file may be truncated; download the checkpoint again.",
      cause: error,
    });
  }
}
