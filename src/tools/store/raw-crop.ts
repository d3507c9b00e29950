import { SquintError } from "../../errors.js";
import type { PixelRegion, RawImage } from "../../model/image-decode.js";

/**
 * Crops of decoded RGB pixels: row copies, no codec. Apart from pixel-ops.ts (which needs sharp) so that the
 * resize threads can crop without loading sharp.
 */
/** The store's name for the model's integer pixel rectangle. */
export type PixelRect = PixelRegion;

/** The pixels inside an integer rectangle that lies within the image. */
export function cropPixels(image: RawImage, rect: PixelRect): RawImage {
  const { left, top, width, height } = rect;
  const inside =
    Number.isInteger(left) &&
    Number.isInteger(top) &&
    Number.isInteger(width) &&
    Number.isInteger(height) &&
    left >= 0 &&
    top >= 0 &&
    width > 0 &&
    height > 0 &&
    left + width <= image.width &&
    top + height <= image.height;
  if (!inside) {
    throw new SquintError("INTERNAL", "A crop rectangle fell outside its image.", {
      details: { rect, width: image.width, height: image.height },
    });
  }
  if (left === 0 && top === 0 && width === image.width && height === image.height) return image;
  const out = new Uint8Array(width * height * 3);
  const rowBytes = width * 3;
  for (let y = 0; y < height; y++) {
    const start = ((top + y) * image.width + left) * 3;
    out.set(image.data.subarray(start, start + rowBytes), y * rowBytes);
  }
  return { width, height, data: out };
}
