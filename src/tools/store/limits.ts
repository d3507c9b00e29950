/**
 * What the image store accepts and keeps. Every check on input happens before decoding (bytes, then the
 * header's dimensions), so a decompression bomb is refused from its header, never expanded.
 */
export interface ImageLimits {
  /** Most encoded bytes one image may have. Matches the sources' download/read cap. */
  maxInputBytes: number;
  /** Most pixels (width × height) one image may have, originals and derived images alike. */
  maxPixels: number;
  /** Longest side in pixels. */
  maxDimension: number;
  /** Decoded RGB bytes the store keeps before it evicts (least recently used first; pinned images stay). */
  maxStoreBytes: number;
  /** SVG is a document (scripts, external references, entity expansion): refused unless the caller opts in. */
  allowSvg: boolean;
}

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxInputBytes: 50 * 1024 * 1024,
  // 8192² ≈ 67 MP: above any phone or DSLR photo in common use (≈ 200 MB as RGB), far below sharp's own 268 MP.
  maxPixels: 8192 * 8192,
  maxDimension: 16_384,
  maxStoreBytes: 1024 * 1024 * 1024,
  allowSvg: false,
});

export function resolveLimits(overrides: Partial<ImageLimits> = {}): ImageLimits {
  return { ...DEFAULT_IMAGE_LIMITS, ...overrides };
}
