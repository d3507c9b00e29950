import { SquintError } from "../errors.js";

/**
 * Interleaved multimodal RoPE for the Qwen3-VL decoder (spec §4.1, §13.1). Every rotary frequency slot takes
 * its angle from one of the three position rows; which one is fixed by `mrope_section`.
 */

export const MROPE_AXIS_T = 0;
export const MROPE_AXIS_H = 1;
export const MROPE_AXIS_W = 2;

/**
 * The position row (0 = T, 1 = H, 2 = W) each of the headDim/2 frequency slots reads. transformers'
 * `apply_interleaved_mrope` starts from all-T, then gives H the slots 1, 4, 7, … below 3·section[1] and W the
 * slots 2, 5, 8, … below 3·section[2]. [24, 20, 20] / 128 gives THW×20 then TTTT; [4, 2, 2] / 16 gives THWTHWTT.
 */
export function mropeSlotAxes(
  mropeSection: readonly [number, number, number] | readonly number[],
  headDim: number,
): Uint8Array {
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
    throw new SquintError("INVALID_ARGUMENT", `headDim must be a positive even integer, got ${headDim}`);
  }
  if (mropeSection.length !== 3 || !mropeSection.every((value) => Number.isInteger(value) && value >= 0)) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `mropeSection must be three non-negative integers, got [${mropeSection.join(", ")}]`,
      {
        hint: "Use text_config.rope_scaling.mrope_section from config.json, e.g. [24, 20, 20].",
      },
    );
  }
  const half = headDim / 2;
  const slots = new Uint8Array(half).fill(MROPE_AXIS_T);
  for (const axis of [MROPE_AXIS_H, MROPE_AXIS_W]) {
    const end = Math.min(3 * mropeSection[axis], half);
    for (let j = axis; j < end; j += 3) slots[j] = axis;
  }
  return slots;
}

export interface MropeOptions {
  headDim: number;
  ropeTheta: number;
  mropeSection: readonly [number, number, number] | readonly number[];
}

/**
 * cos and sin tables `[S, headDim]` (row-major) for the given three position rows: `inv_freq[j] =
 * 1/theta^(2j/headDim)`, slot j's angle = `position[axis(j)] · inv_freq[j]`, emb = cat(f, f). inv_freq and each
 * angle are rounded to float32 as transformers computes them, so large positions match its tables.
 */
export function mropeCosSin(
  positions: readonly [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>],
  options: MropeOptions,
): { cos: Float32Array; sin: Float32Array } {
  const { headDim, ropeTheta } = options;
  if (!(Number.isFinite(ropeTheta) && ropeTheta > 0)) {
    throw new SquintError("INVALID_ARGUMENT", `ropeTheta must be a positive number, got ${ropeTheta}`);
  }
  const slots = mropeSlotAxes(options.mropeSection, headDim);
  const half = headDim / 2;
  const length = positions[0].length;
  if (positions[1].length !== length || positions[2].length !== length) {
    throw new SquintError("INVALID_ARGUMENT", "The three position rows must have the same length");
  }
  const invFreq = new Float32Array(half);
  const theta = Math.fround(ropeTheta);
  for (let j = 0; j < half; j++) {
    invFreq[j] = 1 / Math.fround(theta ** Math.fround((2 * j) / headDim));
  }
  const cos = new Float32Array(length * headDim);
  const sin = new Float32Array(length * headDim);
  for (let s = 0; s < length; s++) {
    const base = s * headDim;
    for (let j = 0; j < half; j++) {
      const angle = Math.fround(invFreq[j] * positions[slots[j]][s]);
      const c = Math.cos(angle);
      const v = Math.sin(angle);
      cos[base + j] = c;
      cos[base + half + j] = c;
      sin[base + j] = v;
      sin[base + half + j] = v;
    }
  }
  return { cos, sin };
}
