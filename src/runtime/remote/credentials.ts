import { SquintError } from "../../errors.js";

/**
 * Credentials for a model server never appear in anything Squint shows: stderr, `--json`, `--trace`, error
 * messages, eval reports, the backend's name (issue 10: a password in `--base-url http://user:pass@host` was
 * echoed in all of those).
 *
 * A URL's user and password are taken out of the URL once, where the backend is made; the request carries
 * them as HTTP Basic auth instead (undici ignores credentials in a URL, so they were never sent before
 * either), and every URL Squint prints is the one without them. Text a server sends back (an error body may
 * quote the key it refused) passes through `redactSecrets` with the key, the password and their encodings.
 */

export interface ServerAddress {
  /** The URL without user and password: the one to request and the only one to show. */
  url: string;
  /** `Basic …` for the URL's credentials, when it had any. */
  basicAuthorization?: string;
  /** The strings that must not be shown (password, user, their Basic encoding). */
  secrets: string[];
}

/** Splits the credentials off an http(s) URL. A URL without credentials comes back as it was given. */
export function serverAddress(url: string): ServerAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL: never show it whole, it may be one with a typo around a password.
    throw new SquintError("INVALID_ARGUMENT", `Not a valid server URL: ${redactUrlCredentials(url)}`, {
      hint: "Give an http(s) URL such as http://127.0.0.1:8000/v1.",
    });
  }
  if (parsed.username === "" && parsed.password === "") return { url, secrets: [] };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  const pair = `${user}:${password}`;
  const encoded = Buffer.from(pair).toString("base64");
  parsed.username = "";
  parsed.password = "";
  return {
    url: parsed.toString().replace(/\/$/, url.endsWith("/") ? "/" : ""),
    basicAuthorization: `Basic ${encoded}`,
    // The user alone only when there is no password: then it is the token (http://TOKEN@host).
    secrets: [url, pair, encoded, password === "" ? user : password].filter((secret) => secret.length >= 4),
  };
}

/** Any `scheme://user:pass@` in `text` with the credentials replaced by `***`. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*(?:@[^\s/?#@]*)*@/gi, "$1***@");
}

/** `text` with every secret (and any URL credentials) replaced by `***`; longer secrets first. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 4) out = out.split(secret).join("***");
  }
  return redactUrlCredentials(out);
}

function redactValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === "string") return redactSecrets(value, secrets);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactValue(item, secrets)]));
  }
  return value;
}

/** The same error with secrets taken out of its message, hint and details. */
export function redactError(error: SquintError, secrets: readonly string[]): SquintError {
  const message = redactSecrets(error.message, secrets);
  const hint = error.hint === undefined ? undefined : redactSecrets(error.hint, secrets);
  const details =
    error.details === undefined ? undefined : (redactValue(error.details, secrets) as Record<string, unknown>);
  if (message === error.message && hint === error.hint && JSON.stringify(details) === JSON.stringify(error.details)) {
    return error;
  }
  return new SquintError(error.code, message, {
    ...(hint === undefined ? {} : { hint }),
    ...(details === undefined ? {} : { details }),
  });
}
