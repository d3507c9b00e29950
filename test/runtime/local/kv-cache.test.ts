import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { templateIsThinking } from "../../../src/runtime/local/create-local-backend.js";
import { providerCandidates } from "../../../src/runtime/local/execution-provider.js";
import { commonPrefixLength, KvCache } from "../../../src/runtime/local/kv-cache.js";
import { mapVisualTokens, type VisualInput } from "../../../src/runtime/local/visual-inputs.js";

/** The engine's pure parts: cache bookkeeping and slicing, pad-to-visual mapping, provider order. */
const shape = { numLayers: 2, numKeyValueHeads: 2, headDim: 3 };

/** A [1, kvh, past, hd] tensor whose value at (h, p, d) is 100·h + 10·p + d (+ 1000 for values). */
function tensor(past: number, offset = 0): ort.Tensor {
  const data = new Float32Array(shape.numKeyValueHeads * past * shape.headDim);
  for (let h = 0; h < shape.numKeyValueHeads; h++)
    for (let p = 0; p < past; p++)
      for (let d = 0; d < shape.headDim; d++) data[(h * past + p) * shape.headDim + d] = offset + 100 * h + 10 * p + d;
  return new ort.Tensor("float32", data, [1, shape.numKeyValueHeads, past, shape.headDim]);
}

describe("KvCache", () => {
  it("truncates every layer to a strided slice of the first positions", () => {
    const cache = new KvCache(shape);
    cache.advance([tensor(5), tensor(5)], [tensor(5, 1000), tensor(5, 1000)], [1, 2, 3, 4, 5], [0, 0, 7, 7, 0]);
    expect(cache.length).toBe(5);
    expect(cache.bytes).toBe(5 * 2 * 2 * 2 * 3 * 4);
    expect(cache.truncate(3)).toBe(3);
    expect(cache.tokens).toEqual([1, 2, 3]);
    expect(cache.visualKeys).toEqual([0, 0, 7]);
    expect(cache.keys[1]!.dims).toEqual([1, 2, 3, 3]);
    expect(Array.from(cache.keys[1]!.data as Float32Array)).toEqual(Array.from(tensor(3).data as Float32Array));
    expect(Array.from(cache.values[0]!.data as Float32Array)).toEqual(Array.from(tensor(3, 1000).data as Float32Array));
  });

  it("refuses present tensors of the wrong length", () => {
    const cache = new KvCache(shape);
    expect(() => cache.advance([tensor(4), tensor(4)], [tensor(4), tensor(4)], [1, 2, 3], [0, 0, 0])).toThrow(
      /expected 3/,
    );
  });

  /** New positions [1, S, kvh, hd] (positions-first) or [1, kvh, S, hd], value 100·h + 10·(at + s) + d. */
  function fresh(layout: "positions-first" | "heads-first", at: number, s: number): ort.Tensor {
    const { numKeyValueHeads: kvh, headDim: hd } = shape;
    const data = new Float32Array(kvh * s * hd);
    for (let h = 0; h < kvh; h++)
      for (let p = 0; p < s; p++)
        for (let d = 0; d < hd; d++) {
          const i = layout === "positions-first" ? (p * kvh + h) * hd + d : (h * s + p) * hd + d;
          data[i] = 100 * h + 10 * (at + p) + d;
        }
    return new ort.Tensor("float32", data, layout === "positions-first" ? [1, s, kvh, hd] : [1, kvh, s, hd]);
  }

  for (const layout of ["positions-first", "heads-first"] as const) {
    it(`append (${layout}): writes new positions in place, grows keeping the prefix, feeds ${layout === "positions-first" ? "a prefix view" : "the whole buffers"}`, () => {
      const { numKeyValueHeads: kvh, headDim: hd } = shape;
      const cache = new KvCache({ ...shape, append: { maxTokens: 10_000, initialTokens: 4 }, layout });
      const value = (tensor: ort.Tensor, h: number, p: number, d: number) => {
        const capacity = cache.capacity;
        const i = layout === "positions-first" ? (p * kvh + h) * hd + d : (h * capacity + p) * hd + d;
        return (tensor.data as Float32Array)[i];
      };
      cache.reserve(3);
      expect(cache.capacity).toBe(4);
      // Empty cache: one (masked) position is fed positions-first, so no operand has a zero-length axis.
      const empty = cache.pastInputs();
      expect(empty.keys[0]!.dims).toEqual(layout === "positions-first" ? [1, 1, kvh, hd] : [1, kvh, 4, hd]);
      cache.append(
        [fresh(layout, 0, 3), fresh(layout, 0, 3)],
        [fresh(layout, 0, 3), fresh(layout, 0, 3)],
        [1, 2, 3],
        [0, 0, 0],
      );
      const buffer = cache.keys[0]!.data;
      const fed = cache.pastInputs();
      if (layout === "positions-first") {
        expect(fed.keys[1]!.dims).toEqual([1, 3, kvh, hd]);
        // A view: the same memory as the buffer, not a copy.
        expect((fed.keys[1]!.data as Float32Array).buffer).toBe((cache.keys[1]!.data as Float32Array).buffer);
        expect((fed.values[0]!.data as Float32Array).byteOffset).toBe(0);
      } else {
        expect(fed.keys[1]).toBe(cache.keys[1]);
      }
      expect(value(cache.keys[1]!, 1, 2, 2)).toBe(100 + 20 + 2);
      cache.append([fresh(layout, 3, 1), fresh(layout, 3, 1)], [fresh(layout, 3, 1), fresh(layout, 3, 1)], [4], [0]);
      expect(cache.keys[0]!.data).toBe(buffer);
      // The 5th position outgrows the capacity: new buffers, the 4 positions kept.
      cache.reserve(5);
      expect(cache.capacity).toBeGreaterThanOrEqual(5 + 256);
      expect(cache.keys[0]!.data).not.toBe(buffer);
      for (let p = 0; p < 4; p++) expect(value(cache.keys[0]!, 1, p, 1)).toBe(100 + 10 * p + 1);
      expect(() => cache.append([fresh(layout, 4, 2)], [fresh(layout, 4, 2)], [5], [0])).toThrow(/expected/);
    });
  }

  it("the common prefix needs equal tokens and equal image identities", () => {
    const cache = { tokens: [1, 9, 9, 9, 2], visualKeys: [0, 4, 4, 4, 0] };
    expect(commonPrefixLength(cache, [1, 9, 9, 9, 2, 3], [0, 4, 4, 4, 0, 0])).toBe(5);
    // Same pad ids, different image: only the text before it is shared.
    expect(commonPrefixLength(cache, [1, 9, 9, 9, 2], [0, 5, 5, 5, 0])).toBe(1);
    expect(commonPrefixLength(cache, [1, 9], [0, 4])).toBe(2);
  });
});

describe("mapVisualTokens", () => {
  const ids = { imageTokenId: 50, videoTokenId: 60, merge: 2 };
  const image = (key: string, h: number, w: number): VisualInput => ({
    kind: "image",
    key,
    grid: [1, h, w],
    pixelValues: new Float32Array(0),
  });
  const video: VisualInput = { kind: "video", key: "v", grid: [2, 2, 2], pixelValues: new Float32Array(0) };

  it("assigns pads to visuals and feature rows in sequence order, across a video's groups", () => {
    // image (2 tokens), text, video group 1 (1 token), timestamp text, video group 2 (1 token)
    const sequence = [1, 50, 50, 2, 60, 3, 60, 4];
    const map = mapVisualTokens(sequence, [image("a", 2, 4), video], ids);
    expect(Array.from(map.owner)).toEqual([-1, 0, 0, -1, 1, -1, 1, -1]);
    expect(Array.from(map.row).filter((_, i) => map.owner[i]! >= 0)).toEqual([0, 1, 0, 1]);
  });

  it("rejects pads without a visual, the wrong kind, or visuals without pads", () => {
    expect(() => mapVisualTokens([50, 50], [], ids)).toThrow(/missing/);
    expect(() => mapVisualTokens([60], [image("a", 2, 2)], ids)).toThrow(/is a video pad/);
    expect(() => mapVisualTokens([50], [image("a", 2, 4)], ids)).toThrow(/cover 0 complete/);
  });
});

describe("execution providers", () => {
  it("auto prefers a GPU only when one is likely, and CPU always closes the list", () => {
    expect(providerCandidates("cpu")).toEqual(["cpu"]);
    expect(providerCandidates("webgpu", false)).toEqual(["webgpu", "cpu"]);
    expect(providerCandidates("cuda", false)).toEqual(["cuda", "cpu"]);
    expect(providerCandidates("auto", false)).toEqual(["cpu"]);
    const withGpu = providerCandidates("auto", true);
    expect(withGpu.at(-1)).toBe("cpu");
    expect(withGpu).toContain("webgpu");
    expect(withGpu.indexOf("webgpu")).toBeGreaterThan(withGpu.indexOf("cuda"));
  });
});

describe("templateIsThinking", () => {
  it("reads the Thinking template's pre-opened <think>", () => {
    expect(templateIsThinking("{{- '<|im_start|>assistant\\n<think>\\n' }}")).toBe(true);
    expect(templateIsThinking("{{- '<|im_start|>assistant\\n' }}")).toBe(false);
    expect(templateIsThinking(undefined)).toBeUndefined();
  });
});
