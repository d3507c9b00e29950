import { SquintError } from "../../errors.js";

/**
 * Tells an image format from its first bytes, before anything is handed to a decoder, so that an empty file,
 * an SVG (a document that can reference files and URLs), a PDF or random bytes are refused with a clear
 * reason, and a JPEG/PNG/GIF whose end is missing is called truncated rather than half-decoded.
 */
export type SniffedFormat = "jpeg" | "png" | "gif" | "webp" | "tiff" | "avif" | "heif" | "svg";

const formatNames: Record<SniffedFormat, string> = {
  jpeg: "JPEG",
  png: "PNG",
  gif: "GIF",
  webp: "WebP",
  tiff: "TIFF",
  avif: "AVIF",
  heif: "HEIF",
  svg: "SVG",
};

export function formatName(format: SniffedFormat): string {
  return formatNames[format];
}

const supportedList = "JPEG, PNG, WebP, GIF, TIFF or AVIF";

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((value, i) => bytes[offset + i] === value);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, Math.min(end, bytes.length)));
}

function looksLikeSvg(bytes: Uint8Array): boolean {
  // Text formats: skip a UTF-8 BOM and leading whitespace, then look for an XML prolog, doctype or <svg.
  const head = new TextDecoder("utf-8", { fatal: false })
    .decode(bytes.subarray(0, 4096))
    .replace(/^\uFEFF/, "")
    .trimStart()
    .toLowerCase();
  if (head.startsWith("<svg")) return true;
  if (head.startsWith("<?xml") || head.startsWith("<!doctype svg") || head.startsWith("<!--")) {
    return head.includes("<svg");
  }
  return false;
}

/** The format of `bytes`, or a SquintError saying why these bytes are not an image we read. */
export function sniffFormat(bytes: Uint8Array): SniffedFormat {
  if (bytes.length === 0) {
    throw new SquintError("IMAGE_DECODE_FAILED", "The image is empty (0 bytes).", {
      hint: "Check that the file or download actually contains the image.",
    });
  }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a") return "gif";
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") return "webp";
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return "tiff";
  if (ascii(bytes, 4, 8) === "ftyp") {
    const brand = ascii(bytes, 8, 12);
    if (brand === "avif" || brand === "avis") return "avif";
    if (["heic", "heix", "hevc", "hevx", "mif1", "msf1"].includes(brand)) return "heif";
  }
  if (looksLikeSvg(bytes)) return "svg";
  if (ascii(bytes, 0, 5) === "%PDF-") {
    throw new SquintError("IMAGE_UNSUPPORTED", "This is a PDF, not an image.", {
      hint: `Render the page to PNG first, or send a ${supportedList} image.`,
    });
  }
  if (ascii(bytes, 0, 2) === "BM") {
    throw new SquintError("IMAGE_UNSUPPORTED", "BMP images are not supported.", {
      hint: `Convert it to PNG, or send a ${supportedList} image.`,
    });
  }
  throw new SquintError("IMAGE_UNSUPPORTED", "These bytes are not an image format Squint reads.", {
    hint: `Send a ${supportedList} image.`,
    // Only the length: the first bytes of a file that is not an image may be a secret (a key, a password line).
    details: { bytes: bytes.byteLength },
  });
}

/**
 * Whether a file of this format visibly ends where it should. Decoders fill a missing tail with grey and only
 * warn, so a cut-off download would otherwise look like a valid picture.
 */
export function looksTruncated(bytes: Uint8Array, format: SniffedFormat): boolean {
  const n = bytes.length;
  switch (format) {
    case "jpeg": {
      // EOI marker FF D9, allowing trailing padding some encoders append.
      const tail = bytes.subarray(Math.max(0, n - 64));
      for (let i = tail.length - 2; i >= 0; i--) {
        if (tail[i] === 0xff && tail[i + 1] === 0xd9) return false;
      }
      return true;
    }
    case "png": {
      // IEND chunk type followed by its 4-byte CRC, at the very end (trailing bytes after IEND are tolerated).
      const tail = ascii(bytes, Math.max(0, n - 64), n);
      return !tail.includes("IEND");
    }
    case "gif":
      return !bytes.subarray(Math.max(0, n - 16)).includes(0x3b);
    case "webp": {
      // The RIFF header states the payload size.
      const declared = n >= 8 ? (bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24)) >>> 0 : 0;
      return n < 8 || declared + 8 > n;
    }
    default:
      return false;
  }
}
