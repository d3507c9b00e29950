import { z } from "zod";
import { parseWith, SquintError } from "../errors.js";

/**
 * Next-token selection over a row of logits. The order of the steps follows vLLM/transformers:
 * penalties on the raw logits, then (unless greedy) temperature, top-k, top-p, min-p, and a draw from the
 * renormalised distribution with a seeded generator so that a run can be replayed exactly.
 */
export const samplingOptionsSchema = z.object({
  /** false = greedy (argmax after penalties); the other knobs below are then ignored. */
  doSample: z.boolean(),
  /** Divides the logits before softmax. 0 behaves as greedy. */
  temperature: z.number().min(0),
  /** Keep only the k most likely tokens; 0 = off. */
  topK: z.number().int().min(0),
  /** Keep the smallest set of tokens whose probability mass reaches p; 1 = off. */
  topP: z.number().gt(0).max(1),
  /** Drop tokens whose probability is below minP times the top token's; 0 = off. */
  minP: z.number().min(0).max(1),
  /** Subtracted once from the logit of every token already generated (OpenAI/vLLM semantics); 0 = off. */
  presencePenalty: z.number().min(-2).max(2),
  /** Seen tokens: positive logits divided by it, negative ones multiplied (CTRL/transformers); 1 = off. */
  repetitionPenalty: z.number().gt(0),
  /** Seed of the generator; the same seed, logits and history give the same tokens. */
  seed: z.number().int().optional(),
});

export type SamplingOptions = z.infer<typeof samplingOptionsSchema>;

/** Qwen3-VL Instruct, model card (vision-language): spec §8. */
export const instructSampling: SamplingOptions = {
  doSample: true,
  temperature: 0.7,
  topK: 20,
  topP: 0.8,
  minP: 0,
  presencePenalty: 1.5,
  repetitionPenalty: 1.0,
};

/** Qwen3-VL Thinking, model card: spec §8 (the README evaluation used temperature 0.6; see thinkingEvalSampling). */
export const thinkingSampling: SamplingOptions = {
  doSample: true,
  temperature: 1.0,
  topK: 20,
  topP: 0.95,
  minP: 0,
  presencePenalty: 0,
  repetitionPenalty: 1.0,
};

/** Qwen3-VL Thinking, README evaluation settings (spec §8). */
export const thinkingEvalSampling: SamplingOptions = { ...thinkingSampling, temperature: 0.6, seed: 1234 };

/** Qwen3-VL Instruct, README evaluation settings (spec §8). */
export const instructEvalSampling: SamplingOptions = { ...instructSampling, seed: 3407 };

export const greedySampling: SamplingOptions = {
  doSample: false,
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  presencePenalty: 0,
  repetitionPenalty: 1.0,
};

const SAMPLING_HINT =
  "Use temperature >= 0, topK >= 0, 0 < topP <= 1, 0 <= minP <= 1, -2 <= presencePenalty <= 2, repetitionPenalty > 0.";

/** The preset for a checkpoint edition, with the caller's overrides validated on top. */
export function resolveSampling(thinking: boolean, overrides: Partial<SamplingOptions> = {}): SamplingOptions {
  const merged = { ...(thinking ? thinkingSampling : instructSampling), ...overrides };
  return parseWith(samplingOptionsSchema, merged, "Invalid sampling options", { hint: SAMPLING_HINT });
}

/**
 * A small deterministic generator (mulberry32): 32-bit state, uniform floats in [0, 1). Not for secrets;
 * chosen because it is tiny, fast and gives the same sequence on every platform.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** Which tokens the penalties look at. */
export interface SamplingHistory {
  /** Tokens generated so far in this reply: presence and repetition penalties. */
  generated?: ArrayLike<number>;
  /** Prompt tokens: repetition penalty only (as vLLM and transformers do). */
  prompt?: ArrayLike<number>;
}

/** Returns a copy of `logits` with the repetition and presence penalties applied. */
export function applyPenalties(
  logits: Float32Array,
  history: SamplingHistory,
  penalties: Pick<SamplingOptions, "presencePenalty" | "repetitionPenalty">,
): Float32Array {
  const out = new Float32Array(logits);
  const generated = uniqueTokens(history.generated, logits.length);
  if (penalties.repetitionPenalty !== 1) {
    const seen = new Set(generated);
    for (const token of uniqueTokens(history.prompt, logits.length)) seen.add(token);
    for (const token of seen) {
      const value = out[token];
      out[token] = value > 0 ? value / penalties.repetitionPenalty : value * penalties.repetitionPenalty;
    }
  }
  if (penalties.presencePenalty !== 0) {
    for (const token of generated) out[token] -= penalties.presencePenalty;
  }
  return out;
}

function uniqueTokens(tokens: ArrayLike<number> | undefined, vocabSize: number): number[] {
  if (!tokens) return [];
  const seen = new Set<number>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (Number.isInteger(token) && token >= 0 && token < vocabSize) seen.add(token);
  }
  return [...seen];
}

/** Index of the largest finite logit (the first one on ties, like torch.argmax). */
export function argmax(logits: ArrayLike<number>): number {
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const value = logits[i];
    if (value > bestValue) {
      bestValue = value;
      best = i;
    }
  }
  if (best < 0) {
    throw new SquintError("BACKEND_FAILED", "Every logit is -Infinity or NaN; no token can be chosen.", {
      hint: "The model produced invalid logits; check the checkpoint and the precision it runs in.",
    });
  }
  return best;
}

/** A token and its probability after all filters, in descending order. */
export interface Candidate {
  token: number;
  probability: number;
}

/**
 * The distribution the sampler draws from after temperature, top-k, top-p and min-p (penalties already
 * applied by the caller). Exposed so tests and tracing can see exactly what was sampled from.
 */
export function candidateDistribution(
  logits: Float32Array,
  options: Pick<SamplingOptions, "temperature" | "topK" | "topP" | "minP">,
): Candidate[] {
  const temperature = options.temperature;
  const useTopK = options.topK > 0 && options.topK < logits.length;
  // Top-k renormalises over the k kept tokens; otherwise top-p's mass is measured over the whole vocabulary.
  const order = useTopK
    ? topKIndices(logits, options.topK)
    : mostLikelyPrefix(logits, temperature, options.topP, options.minP);
  if (order.length === 0) argmax(logits); // throws the clear error
  const maxLogit = logits[order[0]];
  const weights = order.map((token) => Math.exp((logits[token] - maxLogit) / temperature));
  let total = 0;
  if (useTopK) for (const weight of weights) total += weight;
  else total = softmaxMass(logits, maxLogit, temperature);

  let kept = order.length;
  if (options.topP < 1) {
    let mass = 0;
    for (let i = 0; i < order.length; i++) {
      mass += weights[i] / total;
      // The token that crosses the threshold is kept (HF and vLLM keep the smallest set reaching p).
      if (mass >= options.topP) {
        kept = i + 1;
        break;
      }
    }
  }
  if (options.minP > 0) {
    // Relative to the most likely token: p_i >= minP * p_max  <=>  w_i >= minP * w_0 (w_0 = 1).
    let i = 1;
    while (i < kept && weights[i] >= options.minP * weights[0]) i++;
    kept = i;
  }
  let keptTotal = 0;
  for (let i = 0; i < kept; i++) keptTotal += weights[i];
  const result: Candidate[] = [];
  for (let i = 0; i < kept; i++) result.push({ token: order[i], probability: weights[i] / keptTotal });
  return result;
}

/** Σ exp((logit − max) / T) over the vocabulary. */
function softmaxMass(logits: Float32Array, maxLogit: number, temperature: number): number {
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    const value = logits[i];
    if (value > Number.NEGATIVE_INFINITY) total += Math.exp((value - maxLogit) / temperature);
  }
  return total;
}

/** Indices of the `k` largest finite logits, largest first (ties: lower index first), in one pass. */
function topKIndices(logits: Float32Array, k: number): number[] {
  const indices = new Int32Array(k);
  const values = new Float64Array(k);
  let count = 0;
  for (let i = 0; i < logits.length; i++) {
    const value = logits[i];
    if (!(value > Number.NEGATIVE_INFINITY)) continue; // -Infinity and NaN never compete
    if (count === k && value <= values[k - 1]) continue;
    let position = count < k ? count : k - 1;
    while (position > 0 && values[position - 1] < value) {
      values[position] = values[position - 1];
      indices[position] = indices[position - 1];
      position--;
    }
    values[position] = value;
    indices[position] = i;
    if (count < k) count++;
  }
  return Array.from(indices.subarray(0, count));
}

/**
 * The most likely tokens, sorted, enough of them for top-p (mass ≥ p) and min-p to be decided — without
 * sorting a 151 936-token vocabulary: gather every token within `delta` of the best logit, widening
 * `delta` until the gathered mass suffices. Such a set is always a prefix of the fully sorted order.
 */
function mostLikelyPrefix(logits: Float32Array, temperature: number, topP: number, minP: number): number[] {
  let maxLogit = Number.NEGATIVE_INFINITY;
  let finite = 0;
  for (let i = 0; i < logits.length; i++) {
    const value = logits[i];
    if (value > Number.NEGATIVE_INFINITY) {
      finite++;
      if (value > maxLogit) maxLogit = value;
    }
  }
  if (finite === 0) return [];
  const compare = (a: number, b: number) => logits[b] - logits[a] || a - b;
  if (topP >= 1 && minP <= 0) {
    const all: number[] = [];
    for (let i = 0; i < logits.length; i++) if (logits[i] > Number.NEGATIVE_INFINITY) all.push(i);
    return all.sort(compare);
  }
  const total = softmaxMass(logits, maxLogit, temperature);
  // min-p keeps tokens with logit >= max + T·ln(minP): the gathered set must reach at least that far.
  const minPDelta = minP > 0 ? -temperature * Math.log(minP) : 0;
  let delta = Math.max(4 * temperature, minPDelta);
  for (;;) {
    const threshold = maxLogit - delta;
    const gathered: number[] = [];
    let mass = 0;
    for (let i = 0; i < logits.length; i++) {
      const value = logits[i];
      if (value >= threshold && value > Number.NEGATIVE_INFINITY) {
        gathered.push(i);
        mass += Math.exp((value - maxLogit) / temperature);
      }
    }
    // A little slack for rounding: the exact cut is made by the caller on the sorted weights.
    const enough = topP >= 1 || mass >= topP * total * (1 + 1e-9);
    if (enough || gathered.length === finite || !Number.isFinite(delta)) return gathered.sort(compare);
    delta *= 2;
  }
}

/** Stateful sampler: one per generation, so that its seeded generator advances token by token. */
export class Sampler {
  readonly options: SamplingOptions;
  private readonly random: SeededRandom;

  constructor(options: SamplingOptions) {
    this.options = parseWith(samplingOptionsSchema, options, "Invalid sampling options", { hint: SAMPLING_HINT });
    this.random = new SeededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /** Chooses the next token from one row of logits (vocabulary-sized). */
  sample(logits: Float32Array, history: SamplingHistory = {}): number {
    const neutral = this.options.presencePenalty === 0 && this.options.repetitionPenalty === 1;
    // No penalty: skip copying the vocabulary-sized row.
    const penalised = neutral ? logits : applyPenalties(logits, history, this.options);
    if (!this.options.doSample || this.options.temperature === 0) return argmax(penalised);
    const candidates = candidateDistribution(penalised, this.options);
    let draw = this.random.next();
    for (const candidate of candidates) {
      draw -= candidate.probability;
      if (draw < 0) return candidate.token;
    }
    // Rounding can leave a sliver of mass at the end: it belongs to the last candidate.
    return candidates[candidates.length - 1].token;
  }
}

/** Convenience for a single draw. */
export function sampleToken(logits: Float32Array, options: SamplingOptions, history: SamplingHistory = {}): number {
  return new Sampler(options).sample(logits, history);
}
