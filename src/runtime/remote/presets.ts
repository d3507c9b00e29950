/**
 * What differs between OpenAI-compatible servers that serve Qwen3-VL: where they listen by default, which
 * sampling knobs beyond OpenAI's they accept, how thinking is switched, and whether an assistant turn's
 * reasoning can be sent back (so the chat template keeps it inside the current tool loop, spec §5).
 */

export type RemotePresetName = "vllm" | "sglang" | "ollama" | "dashscope" | "openai";

export type SamplingExtra = "top_k" | "min_p" | "repetition_penalty";

export interface RemotePreset {
  name: RemotePresetName;
  /** Where the server listens when started with its defaults; undefined = the caller must say. */
  defaultBaseUrl: string | undefined;
  /** Non-OpenAI sampling fields the server reads from the request body. */
  samplingExtras: readonly SamplingExtra[];
  /**
   * How to tell the server whether to think: vLLM and SGLang pass `chat_template_kwargs` to the template
   * (Qwen3-VL's templates ignore it; hybrid checkpoints read `enable_thinking`), DashScope reads
   * `enable_thinking` at the top level.
   */
  thinkingSwitch: "chat-template-kwargs" | "enable-thinking" | "none";
  /** Send assistant reasoning back as `reasoning_content` (the key the Qwen3-VL template reads). */
  sendsReasoning: boolean;
  /** The server refuses requests without a key. */
  needsApiKey: boolean;
}

export const remotePresets: Record<RemotePresetName, RemotePreset> = {
  vllm: {
    name: "vllm",
    defaultBaseUrl: "http://localhost:8000/v1",
    samplingExtras: ["top_k", "min_p", "repetition_penalty"],
    thinkingSwitch: "chat-template-kwargs",
    sendsReasoning: true,
    needsApiKey: false,
  },
  sglang: {
    name: "sglang",
    defaultBaseUrl: "http://localhost:30000/v1",
    samplingExtras: ["top_k", "min_p", "repetition_penalty"],
    thinkingSwitch: "chat-template-kwargs",
    sendsReasoning: true,
    needsApiKey: false,
  },
  ollama: {
    name: "ollama",
    defaultBaseUrl: "http://localhost:11434/v1",
    // Ollama's OpenAI endpoint reads temperature, top_p, seed and the penalties of the OpenAI API only.
    samplingExtras: [],
    thinkingSwitch: "none",
    sendsReasoning: false,
    needsApiKey: false,
  },
  dashscope: {
    name: "dashscope",
    defaultBaseUrl: "https://dashscope.aliyuncs.com/compatible-mode/v1",
    samplingExtras: ["top_k", "repetition_penalty"],
    thinkingSwitch: "enable-thinking",
    sendsReasoning: false,
    needsApiKey: true,
  },
  openai: {
    name: "openai",
    defaultBaseUrl: undefined,
    samplingExtras: [],
    thinkingSwitch: "none",
    sendsReasoning: false,
    needsApiKey: false,
  },
};
