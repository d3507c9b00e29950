/**
 * Qwen3-VL image preprocessing (spec §2.1). This first cut only carries the shared pixel type.
 */

/** Decoded pixels: RGB, 3 channels, 8 bits each, row-major (`data[(y * width + x) * 3 + c]`). */
export interface RawImage {
  width: number;
  height: number;
  data: Uint8Array;
}
