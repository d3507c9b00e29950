import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isSquintError } from "../../src/errors.js";
import {
  applyPenalties,
  argmax,
  candidateDistribution,
  greedySampling,
  instructSampling,
  resolveSampling,
  Sampler,
  SeededRandom,
  type SamplingOptions,
  thinkingSampling,
} from "../../src/model/sampling.js";

const logitsArb = fc
  .array(fc.float({ min: -20, max: 20, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 64 })
  .map((values) => Float32Array.from(values));

const sampling = (overrides: Partial<SamplingOptions>): SamplingOptions => ({
  ...greedySampling,
  doSample: true,
  temperature: 1,
  ...overrides,
});

describe("presets (spec §8)", () => {
  it("match the model cards", () => {
    expect(instructSampling).toMatchObject({
      temperature: 0.7,
      topP: 0.8,
      topK: 20,
      presencePenalty: 1.5,
      repetitionPenalty: 1,
    });
    expect(thinkingSampling).toMatchObject({
      temperature: 1.0,
      topP: 0.95,
      topK: 20,
      presencePenalty: 0,
      repetitionPenalty: 1,
    });
  });

  it("resolveSampling layers overrides on the edition preset and validates them", () => {
    expect(resolveSampling(true, { temperature: 0.6 })).toMatchObject({ temperature: 0.6, topP: 0.95 });
    let caught: unknown;
    try {
      resolveSampling(false, { topP: 0 });
    } catch (error) {
      caught = error;
    }
    expect(isSquintError(caught) && caught.code).toBe("INVALID_ARGUMENT");
  });
});

describe("greedy", () => {
  it("greedy picks the argmax (first on ties), whatever the seed (property)", () => {
    fc.assert(
      fc.property(logitsArb, fc.integer(), (logits, seed) => {
        const expected = logits.indexOf(Math.max(...logits));
        expect(new Sampler({ ...greedySampling, seed }).sample(logits)).toBe(expected);
        expect(argmax(logits)).toBe(expected);
      }),
    );
  });

  it("top-k = 1 sampling equals greedy (property)", () => {
    fc.assert(
      fc.property(
        logitsArb,
        fc.integer(),
        fc.double({ min: 0.1, max: 3, noNaN: true }),
        (logits, seed, temperature) => {
          expect(new Sampler(sampling({ topK: 1, temperature, seed })).sample(logits)).toBe(argmax(logits));
        },
      ),
    );
  });

  it("refuses a row with no finite logit", () => {
    expect(() => argmax(Float32Array.from([Number.NEGATIVE_INFINITY, Number.NaN]))).toThrow(/no token can be chosen/);
  });
});

describe("penalties", () => {
  it("repetition: divides positive and multiplies negative logits of seen tokens (prompt and generated), once each", () => {
    const logits = Float32Array.from([2, -2, 2, -2, 5]);
    const out = applyPenalties(
      logits,
      { prompt: [0, 0, 1], generated: [2, 3, 3] },
      { repetitionPenalty: 2, presencePenalty: 0 },
    );
    expect(Array.from(out)).toEqual([1, -4, 1, -4, 5]);
    expect(Array.from(logits)).toEqual([2, -2, 2, -2, 5]); // input untouched
  });

  it("presence: subtracts once per distinct generated token, ignoring the prompt", () => {
    const out = applyPenalties(
      Float32Array.from([1, 1, 1]),
      { prompt: [0], generated: [1, 1, 1, 2] },
      { repetitionPenalty: 1, presencePenalty: 1.5 },
    );
    expect(Array.from(out)).toEqual([1, -0.5, -0.5]);
  });

  it("a strong presence penalty moves greedy off a repeated token", () => {
    const logits = Float32Array.from([3, 2.5, 0]);
    expect(new Sampler({ ...greedySampling, presencePenalty: 1 }).sample(logits, { generated: [0] })).toBe(1);
  });

  it("ignores out-of-range history ids", () => {
    const out = applyPenalties(
      Float32Array.from([1, 1]),
      { generated: [-1, 7, 0.5] },
      { repetitionPenalty: 2, presencePenalty: 1 },
    );
    expect(Array.from(out)).toEqual([1, 1]);
  });
});

describe("filters", () => {
  const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);

  it("top-p keeps the smallest set reaching p and renormalises", () => {
    const candidates = candidateDistribution(logits, { temperature: 1, topK: 0, topP: 0.8, minP: 0 });
    expect(candidates.map((candidate) => candidate.token)).toEqual([0, 1]);
    expect(candidates[0].probability).toBeCloseTo(0.5 / 0.8, 6);
  });

  it("top-k keeps the k largest", () => {
    expect(candidateDistribution(logits, { temperature: 1, topK: 3, topP: 1, minP: 0 }).map((c) => c.token)).toEqual([
      0, 1, 2,
    ]);
  });

  it("min-p drops tokens below minP × p_max", () => {
    // 0.15 >= 0.25 · 0.5 survives, 0.05 does not.
    expect(candidateDistribution(logits, { temperature: 1, topK: 0, topP: 1, minP: 0.25 }).map((c) => c.token)).toEqual(
      [0, 1, 2],
    );
  });

  it("temperature sharpens the distribution", () => {
    const cold = candidateDistribution(logits, { temperature: 0.5, topK: 0, topP: 1, minP: 0 });
    expect(cold[0].probability).toBeCloseTo(0.25 / (0.25 + 0.09 + 0.0225 + 0.0025), 6);
  });
});

/** The filters done the obvious way: full sort, softmax, cumulative cut. */
function naiveDistribution(
  logits: Float32Array,
  options: { temperature: number; topK: number; topP: number; minP: number },
) {
  let order = Array.from(logits.keys())
    .filter((index) => logits[index] > Number.NEGATIVE_INFINITY)
    .sort((a, b) => logits[b] - logits[a] || a - b);
  if (options.topK > 0) order = order.slice(0, options.topK);
  const weights = order.map((index) => Math.exp((logits[index] - logits[order[0]]) / options.temperature));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let kept = order.length;
  let mass = 0;
  if (options.topP < 1) {
    for (let i = 0; i < order.length; i++) {
      mass += weights[i] / total;
      if (mass >= options.topP) {
        kept = i + 1;
        break;
      }
    }
  }
  if (options.minP > 0)
    kept = Math.max(1, weights.slice(0, kept).filter((weight) => weight >= options.minP * weights[0]).length);
  const keptTotal = weights.slice(0, kept).reduce((sum, weight) => sum + weight, 0);
  return order.slice(0, kept).map((token, i) => ({ token, probability: weights[i] / keptTotal }));
}

describe("filters agree with a naive full-sort implementation", () => {
  it("for any logits, temperature, top-k, top-p and min-p (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(
            fc.oneof(
              fc.float({ min: -30, max: 30, noNaN: true, noDefaultInfinity: true }),
              fc.constant(Number.NEGATIVE_INFINITY),
            ),
            {
              minLength: 1,
              maxLength: 300,
            },
          ),
          // A few strong tokens over a long flat tail: top-p then has to reach deep into the tail.
          fc.array(
            fc.oneof({ arbitrary: fc.constant(0), weight: 40 }, { arbitrary: fc.constantFrom(-1, 2.5, 6), weight: 1 }),
            {
              minLength: 50,
              maxLength: 400,
            },
          ),
        ),
        fc.double({ min: 0.05, max: 3, noNaN: true }),
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
        // top-p strictly inside (0, 0.99]: at 1 - 3e-16 a flat tail's cumulative sum meets top-p within rounding,
        // and the two summation orders may cut one token apart (seen: topP 0.9999999999999997).
        fc.oneof(fc.constant(1), fc.double({ min: 0.01, max: 0.99, noNaN: true })),
        fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
        (values, temperature, topK, topP, minP) => {
          const logits = Float32Array.from(values);
          fc.pre(logits.some((value) => value > Number.NEGATIVE_INFINITY));
          const options = { temperature, topK, topP, minP };
          const fast = candidateDistribution(logits, options);
          const naive = naiveDistribution(logits, options);
          expect(fast.map((candidate) => candidate.token)).toEqual(naive.map((candidate) => candidate.token));
          for (const [i, candidate] of fast.entries())
            expect(candidate.probability).toBeCloseTo(naive[i].probability, 9);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("seeded sampling", () => {
  it("the generator is deterministic and uniform-ish", () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const draws = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(draws);
    expect(draws.every((value) => value >= 0 && value < 1)).toBe(true);
    const mean = draws.reduce((sum, value) => sum + value, 0) / draws.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });

  it("the same seed gives the same tokens; another seed other tokens", () => {
    const logits = Float32Array.from({ length: 50 }, (_, index) => Math.sin(index));
    const run = (seed: number) => {
      const sampler = new Sampler(sampling({ temperature: 1, seed }));
      return Array.from({ length: 40 }, () => sampler.sample(logits));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it("the empirical distribution of temperature + top-p matches the expected one", () => {
    const base = [2, 1.5, 1, 0.5, 0, -1, -3];
    const logits = Float32Array.from(base);
    const options = { temperature: 0.8, topK: 0, topP: 0.9, minP: 0 };
    // Expected: softmax(base / 0.8), cut to the smallest prefix with mass >= 0.9, renormalised.
    const weights = base.map((value) => Math.exp(value / 0.8));
    const total = weights.reduce((sum, value) => sum + value, 0);
    let mass = 0;
    let kept = 0;
    while (mass < 0.9) mass += weights[kept++] / total;
    const keptTotal = weights.slice(0, kept).reduce((sum, value) => sum + value, 0);
    const expected = weights.map((weight, index) => (index < kept ? weight / keptTotal : 0));

    const sampler = new Sampler(sampling({ ...options, seed: 1234 }));
    const draws = 20000;
    const counts = new Array(base.length).fill(0);
    for (let i = 0; i < draws; i++) counts[sampler.sample(logits)]++;
    for (let token = 0; token < base.length; token++) {
      // 5 standard deviations of a binomial proportion: fails only on a real bias.
      const sigma = Math.sqrt((expected[token] * (1 - expected[token])) / draws);
      expect(Math.abs(counts[token] / draws - expected[token]), `token ${token}`).toBeLessThanOrEqual(5 * sigma + 1e-9);
    }
    expect(counts.slice(kept).every((count) => count === 0)).toBe(true);
  });
});
