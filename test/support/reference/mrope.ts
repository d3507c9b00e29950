import type { ReferenceVariant } from "./variant.js";

/** Which position row (0 = T, 1 = H, 2 = W) drives each rotary frequency slot. */
export type SlotAxis = 0 | 1 | 2;

/**
 * Spec §13.1: start with every slot on T; H takes slots 1, 4, 7, … below 3·section[1], W takes slots
 * 2, 5, 8, … below 3·section[2]. "chunked" is the Qwen2-VL layout (section[0] T slots, then H, then W),
 * kept only to show that the reference can tell the two apart.
 */
export function mropeSlotLayout(
  section: readonly [number, number, number],
  layout: ReferenceVariant["mrope"],
): SlotAxis[] {
  const slots = section[0] + section[1] + section[2];
  const axes = new Array<SlotAxis>(slots).fill(0);
  if (layout === "chunked") {
    for (let j = section[0]; j < section[0] + section[1]; j++) axes[j] = 1;
    for (let j = section[0] + section[1]; j < slots; j++) axes[j] = 2;
    return axes;
  }
  for (let j = 1; j < 3 * section[1] && j < slots; j += 3) axes[j] = 1;
  for (let j = 2; j < 3 * section[2] && j < slots; j += 3) axes[j] = 2;
  return axes;
}

/** `inv_freq[j] = theta^(−2j/d)` for j < d/2. */
export function inverseFrequencies(theta: number, d: number): Float64Array {
  const out = new Float64Array(d / 2);
  for (let j = 0; j < d / 2; j++) out[j] = 1 / theta ** ((2 * j) / d);
  return out;
}

/**
 * cos/sin tables (length headDim, `cat(f, f)` duplicated) for one token with position rows (t, h, w).
 */
export function mropeCosSin(
  position: readonly [number, number, number],
  invFreq: Float64Array,
  axes: readonly SlotAxis[],
): { cos: Float64Array; sin: Float64Array } {
  const half = invFreq.length;
  const cos = new Float64Array(2 * half);
  const sin = new Float64Array(2 * half);
  for (let j = 0; j < half; j++) {
    const angle = position[axes[j]] * invFreq[j];
    cos[j] = cos[j + half] = Math.cos(angle);
    sin[j] = sin[j + half] = Math.sin(angle);
  }
  return { cos, sin };
}
