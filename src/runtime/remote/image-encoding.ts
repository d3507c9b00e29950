import sharp from "sharp";
import { SquintError } from "../../errors.js";
import { checkRawImage, type RawImage, smartResize } from "../../model/vision.js";

/**
 * Images go to a remote server already at the size the model will use (Qwen3-VL's smart_resize, spec
 * §2.1): the server's processor then leaves them as they are, the visual-token count the agent budgets
 * for is the one the server spends, and no pixels travel that would be thrown away.
 */

export type ImageWireFormat = "jpeg" | "png";

export interface EncodeOptions {
  minPixels: number;
  maxPixels: number;
  format: ImageWireFormat;
  /** JPEG quality (1–100). Default 90. */
  quality?: number;
}

export interface EncodedImage {
  dataUrl: string;
  width: number;
  height: number;
}

export async function encodeImageForModel(image: RawImage, options: EncodeOptions): Promise<EncodedImage> {
  checkRawImage(image);
  const size = smartResize(image.height, image.width, {
    factor: 32,
    minPixels: options.minPixels,
    maxPixels: options.maxPixels,
  });
  try {
    let pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
    if (size.width !== image.width || size.height !== image.height) {
      pipeline = pipeline.resize(size.width, size.height, { fit: "fill", kernel: "cubic" });
    }
    const bytes =
      options.format === "png"
        ? await pipeline.png({ compressionLevel: 6 }).toBuffer()
        : await pipeline.jpeg({ quality: options.quality ?? 90 }).toBuffer();
    const mime = options.format === "png" ? "image/png" : "image/jpeg";
    return { dataUrl: `data:${mime};base64,${bytes.toString("base64")}`, width: size.width, height: size.height };
  } catch (error) {
    throw new SquintError(
      "IMAGE_DECODE_FAILED",
      `Could not encode an image for the server: ${(error as Error).message}`,
      {
        hint: "The image's pixels may be corrupt; decode it again from its source.",
        cause: error,
      },
    );
  }
}
