import { z } from "zod";

/**
 * The OpenAI chat-completions wire shapes `squint serve` accepts and returns. Requests are loose objects:
 * fields Squint does not use (logit_bias, user, …) are accepted and ignored, as OpenAI-compatible servers do,
 * so any OpenAI client works unchanged. What Squint cannot honour and would change the answer (n > 1,
 * logprobs) is refused with a coded error instead of being silently ignored.
 */

const textPart = z.looseObject({ type: z.literal("text"), text: z.string() });
const imagePart = z.looseObject({
  type: z.literal("image_url"),
  image_url: z.union([
    z.string().min(1),
    z.looseObject({
      url: z.string().min(1).describe("A data URL, an http(s) URL (public hosts only) or an uploaded image id."),
      detail: z.enum(["auto", "low", "high"]).optional(),
    }),
  ]),
});
const userContent = z.union([z.string(), z.array(z.discriminatedUnion("type", [textPart, imagePart]))]);
const textContent = z.union([z.string(), z.array(textPart)]);

export const wireToolCallSchema = z.looseObject({
  id: z.string().min(1),
  type: z.literal("function").default("function"),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});

export const chatMessageSchema = z.discriminatedUnion("role", [
  z.looseObject({ role: z.literal("system"), content: textContent }),
  z.looseObject({ role: z.literal("developer"), content: textContent }),
  z.looseObject({ role: z.literal("user"), content: userContent }),
  z.looseObject({
    role: z.literal("assistant"),
    content: textContent.nullable().optional(),
    tool_calls: z.array(wireToolCallSchema).optional(),
    reasoning_content: z.string().nullable().optional(),
    reasoning: z.string().nullable().optional(),
  }),
  z.looseObject({ role: z.literal("tool"), content: textContent, tool_call_id: z.string().optional() }),
]);

export const chatToolSchema = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string().min(1).max(64),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

export const chatRequestSchema = z.looseObject({
  model: z.string().optional().describe("Accepted and echoed; the server serves one model."),
  messages: z.array(chatMessageSchema).min(1),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  top_k: z.number().int().min(-1).nullable().optional(),
  min_p: z.number().min(0).max(1).nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  repetition_penalty: z.number().gt(0).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop: z
    .union([z.string().min(1), z.array(z.string().min(1)).max(4)])
    .nullable()
    .optional(),
  n: z.number().int().min(1).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  tools: z.array(chatToolSchema).optional(),
  tool_choice: z
    .union([
      z.enum(["none", "auto", "required"]),
      z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string().min(1) }) }),
    ])
    .optional(),
  chat_template_kwargs: z.looseObject({ enable_thinking: z.boolean().optional() }).nullable().optional(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type ChatMessage = z.infer<typeof chatMessageSchema>;

const usageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().int() }).optional(),
});

export const chatCompletionSchema = z.object({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({
        role: z.literal("assistant"),
        content: z.string().nullable(),
        reasoning_content: z.string().optional().describe("The thinking (SGLang / DeepSeek name)."),
        reasoning: z.string().optional().describe("The thinking (vLLM / Ollama name)."),
        tool_calls: z
          .array(
            z.object({
              id: z.string(),
              type: z.literal("function"),
              function: z.object({ name: z.string(), arguments: z.string() }),
            }),
          )
          .optional(),
      }),
      finish_reason: z.enum(["stop", "length", "tool_calls"]),
      logprobs: z.null(),
    }),
  ),
  usage: usageSchema,
});

export type ChatCompletion = z.infer<typeof chatCompletionSchema>;
export type ChatUsage = z.infer<typeof usageSchema>;
