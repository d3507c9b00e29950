import { SquintError } from "../../errors.js";
import { shorten } from "./reference.js";

const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;
// base64url is what some browsers and tools emit; accept it rather than fail on "-" and "_".
const BASE64URL_BODY = /^[A-Za-z0-9_-]*={0,2}$/;

function tooLarge(bytes: number, maxBytes: number): SquintError {
  return new SquintError(
    "IMAGE_TOO_LARGE",
    `The inline image is about ${bytes} bytes, over the ${maxBytes}-byte limit.`,
    {
      hint: "Pass a file path or URL instead of inline data, or send a smaller image.",
      details: { bytes, maxBytes },
    },
  );
}

/**
 * Decodes bare base64 (whitespace allowed), strictly: Node's own decoder silently skips junk, which would
 * turn a typo into a "truncated image" error far from its cause.
 */
export function decodeBase64Image(text: string, maxBytes: number): Uint8Array {
  const compact = text.replace(/\s+/g, "");
  const approximateBytes = Math.floor((compact.length * 3) / 4);
  if (approximateBytes > maxBytes) throw tooLarge(approximateBytes, maxBytes);
  const standard = BASE64_BODY.test(compact);
  if (!standard && !BASE64URL_BODY.test(compact)) {
    throw new SquintError("INVALID_ARGUMENT", "The inline image is not valid base64.", {
      hint: "Send the image bytes base64-encoded (A-Z, a-z, 0-9, +, /), or pass a file path or URL.",
    });
  }
  const bytes = Buffer.from(compact, standard ? "base64" : "base64url");
  if (bytes.length === 0) {
    throw new SquintError("IMAGE_DECODE_FAILED", "The inline image is empty.", {
      hint: "Send the image's bytes; an empty string is not an image.",
    });
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface DataUri {
  mimeType: string;
  bytes: Uint8Array;
}

/** RFC 3986 percent-decoding to bytes; decodeURIComponent would reject binary (non-UTF-8) payloads. */
function percentDecode(text: string): Buffer {
  const out: number[] = [];
  const raw = Buffer.from(text, "utf8");
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i];
    if (byte === 0x25 && i + 2 < raw.length && /^[0-9a-fA-F]{2}$/.test(raw.subarray(i + 1, i + 3).toString("latin1"))) {
      out.push(Number.parseInt(raw.subarray(i + 1, i + 3).toString("latin1"), 16));
      i += 2;
    } else {
      out.push(byte);
    }
  }
  return Buffer.from(out);
}

/** `data:[<mime>][;params][;base64],<payload>` (RFC 2397); percent-encoded payloads are accepted too. */
export function decodeDataUri(uri: string, maxBytes: number): DataUri {
  const match = /^data:([^,]*),/is.exec(uri);
  if (!match) {
    throw new SquintError("INVALID_ARGUMENT", `"${shorten(uri)}" is not a valid data URI.`, {
      hint: "Data URIs look like data:image/png;base64,<base64 bytes>.",
    });
  }
  const header = match[1].split(";").map((part) => part.trim());
  const isBase64 = header.slice(1).some((part) => part.toLowerCase() === "base64");
  const mimeType = (header[0] || "text/plain").toLowerCase();
  const payload = uri.slice(match[0].length);
  if (isBase64) return { mimeType, bytes: decodeBase64Image(payload, maxBytes) };
  if (payload.length > maxBytes * 3) throw tooLarge(payload.length, maxBytes);
  const bytes = percentDecode(payload);
  if (bytes.length > maxBytes) throw tooLarge(bytes.length, maxBytes);
  return { mimeType, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}
