import { fileURLToPath } from "node:url";
import { SquintError } from "../../errors.js";

/**
 * An image argument is one string: the id of an image the store already holds (bare, or as the
 * `squint://images/{id}` link the server hands out), a file path or file:// URL, an http(s) URL, a data URI,
 * or bare base64. This module only says which one it is; reading it is the job of the reader for that kind.
 */
export type ImageReference =
  | { kind: "id"; id: string }
  | { kind: "path"; path: string }
  | { kind: "url"; url: URL }
  | { kind: "data-uri"; uri: string }
  | { kind: "base64"; base64: string };

export const IMAGE_URI_PREFIX = "squint://images/";

/** The link the server gives a stored image; `parseImageUri` reads it back. */
export function imageUri(id: string): string {
  return `${IMAGE_URI_PREFIX}${encodeURIComponent(id)}`;
}

export function parseImageUri(uri: string): string | undefined {
  if (!uri.startsWith(IMAGE_URI_PREFIX)) return undefined;
  const rest = uri.slice(IMAGE_URI_PREFIX.length);
  if (rest === "" || rest.includes("/")) return undefined;
  try {
    return decodeURIComponent(rest);
  } catch {
    return undefined;
  }
}

// Base64 of the formats we decode starts with these (PNG, JPEG, GIF, WebP/RIFF, BMP, TIFF LE/BE, AVIF/HEIF "ftyp").
const BASE64_IMAGE_PREFIXES = ["iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR", "Qk", "SUkq", "TU0AK", "AAAA"];
const BASE64_ALPHABET = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Bare base64 is told from a path by its alphabet AND by starting with an image signature: "/9j/..." (JPEG)
 * also looks like an absolute path, but no real path is long, dot-free and a valid image header.
 */
function looksLikeBase64Image(text: string): boolean {
  if (text.length < 16 || text.length % 4 !== 0) return false;
  if (!BASE64_ALPHABET.test(text)) return false;
  return BASE64_IMAGE_PREFIXES.some((prefix) => text.startsWith(prefix));
}

export interface ClassifyOptions {
  /** True for a string the image store knows as an id; lets bare ids win over same-named relative paths. */
  isImageId?: (candidate: string) => boolean;
}

export function classifyImageReference(reference: string, options: ClassifyOptions = {}): ImageReference {
  const text = reference.trim();
  if (text === "") {
    throw new SquintError("INVALID_ARGUMENT", "The image argument is empty.", {
      hint: "Pass an image id, a file path, an http(s) URL or a data URI.",
    });
  }
  if (text.startsWith(IMAGE_URI_PREFIX)) {
    const id = parseImageUri(text);
    if (id === undefined) {
      throw new SquintError("INVALID_ARGUMENT", `"${shorten(text)}" is not a valid image link.`, {
        hint: `Image links look like ${IMAGE_URI_PREFIX}<id>, as returned by an earlier tool call.`,
      });
    }
    return { kind: "id", id };
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(text)?.[1]?.toLowerCase();
  if (scheme === "data") return { kind: "data-uri", uri: text };
  if (scheme === "http" || scheme === "https") {
    let url: URL;
    try {
      url = new URL(text);
    } catch (cause) {
      throw new SquintError("INVALID_ARGUMENT", `"${shorten(text)}" is not a valid URL.`, {
        hint: "Check the URL's spelling, or pass a file path or data URI instead.",
        cause,
      });
    }
    return { kind: "url", url };
  }
  if (scheme === "file") {
    try {
      return { kind: "path", path: fileURLToPath(text) };
    } catch (cause) {
      throw new SquintError("INVALID_ARGUMENT", `"${shorten(text)}" is not a valid file URL.`, {
        hint: "Use an absolute file:///path URL or a plain path.",
        cause,
      });
    }
  }
  // "C:\..." is a Windows path, not a URL with scheme "c"; any other scheme with "//" is a URL we do not fetch.
  if (scheme !== undefined && scheme.length > 1 && text.slice(scheme.length + 1).startsWith("//")) {
    throw new SquintError("URL_NOT_ALLOWED", `URLs with scheme "${scheme}:" are not fetched.`, {
      hint: "Only http and https URLs are fetched; pass a file path, a data URI or an image id instead.",
      details: { scheme },
    });
  }
  if (options.isImageId?.(text)) return { kind: "id", id: text };
  const compact = text.replace(/\s+/g, "");
  if (looksLikeBase64Image(compact)) return { kind: "base64", base64: compact };
  return { kind: "path", path: text };
}

/** Keeps error messages readable when the argument is a megabyte of base64. */
export function shorten(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
