import type { GraphMutation } from "../../../src/model/graph/contract.js";

/**
 * Switches that break the reference one detail at a time, the same five ways the graph mutation test
 * breaks the ONNX graphs. The reference's sensitivity test uses them to show each detail matters at the
 * weight scale the parity tests use; `CORRECT` is what the spec says.
 */
export interface ReferenceVariant {
  /** Apply the ViT 2-D rotary to q and k (spec §3.3). */
  visionRotary: boolean;
  /** "spec": tanh-GELU in the ViT MLP, erf-GELU in the mergers; "swapped": the other way round. */
  gelu: "spec" | "swapped";
  /** Decoder layer after which DeepStack feature j is added is `j + deepstackLayerShift` (spec: 0). */
  deepstackLayerShift: number;
  /** Text rotary slot layout: interleaved per spec §13.1, or Qwen2-VL's contiguous chunks. */
  mrope: "interleaved" | "chunked";
  /** Order of the learned position-embedding rows: 2×2-block order (spec §3.2) or plain raster. */
  posEmbedOrder: "block" | "raster";
}

export const CORRECT: ReferenceVariant = {
  visionRotary: true,
  gelu: "spec",
  deepstackLayerShift: 0,
  mrope: "interleaved",
  posEmbedOrder: "block",
};

/** The five single-detail breaks, named as the graph builder names its injected faults. */
export const MUTATIONS: Record<GraphMutation, ReferenceVariant> = {
  "vision-rotary-dropped": { ...CORRECT, visionRotary: false },
  "gelu-swapped": { ...CORRECT, gelu: "swapped" },
  "deepstack-wrong-layer": { ...CORRECT, deepstackLayerShift: 1 },
  "mrope-chunked": { ...CORRECT, mrope: "chunked" },
  "pos-embed-raster": { ...CORRECT, posEmbedOrder: "raster" },
};
