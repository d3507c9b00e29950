import type { LookupAddress } from "node:dns";
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { Agent, request } from "undici";
import { isSquintError, SquintError } from "../../errors.js";
import { blockedAddressReason } from "./address.js";
import type { SourcePolicy } from "./policy.js";
import { shorten } from "./reference.js";

/**
 * Downloading an image URL without becoming an SSRF proxy. Every hop (the first URL and each redirect) is
 * checked: scheme http/https, host not private. For host names the check runs inside the connection's own
 * DNS lookup, so the address that was checked is the address that is connected to (no second resolution a
 * rebinding DNS server could answer differently). Size and time are capped while streaming.
 */

type UrlPolicy = Pick<
  SourcePolicy,
  "allowPrivateUrls" | "trustedHosts" | "maxBytes" | "fetchTimeoutMs" | "maxRedirects" | "resolveHost"
>;

export interface DownloadedImage {
  /** The URL the bytes came from, after redirects. */
  url: string;
  bytes: Uint8Array;
  contentType: string | undefined;
}

class BlockedAddressError extends Error {
  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`${hostname} resolves to ${address} (${reason})`);
    this.name = "BlockedAddressError";
  }
}

/** A URL as lineage and messages show it: no credentials, no query or fragment (they may carry tokens). */
export function redactUrl(url: URL | string): string {
  const parsed = typeof url === "string" ? new URL(url) : url;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

function hostOf(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

function isTrusted(policy: UrlPolicy, hostname: string): boolean {
  const bare = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  return policy.trustedHosts.some((host) => host.toLowerCase() === bare.toLowerCase());
}

function urlNotAllowed(url: URL | string, why: string, details: Record<string, unknown> = {}): SquintError {
  return new SquintError("URL_NOT_ALLOWED", `Refusing to fetch ${shorten(redactUrl(url))}: ${why}.`, {
    hint: "Image URLs must point to a public http(s) host. Save the image to an allowed directory and pass its path, or start the server with --allow-private-urls if you trust every URL it will be given.",
    details: { url: shorten(redactUrl(url), 200), ...details },
  });
}

/** The checks that need no network: scheme and literal IP hosts. Host names are checked at connect time. */
export function checkUrlBeforeFetch(url: URL, policy: UrlPolicy): void {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw urlNotAllowed(url, `only http and https are fetched, not ${url.protocol}`, { scheme: url.protocol });
  }
  if (policy.allowPrivateUrls || isTrusted(policy, url.hostname)) return;
  const host = hostOf(url);
  if (isIP(host) !== 0) {
    const reason = blockedAddressReason(host);
    if (reason !== undefined) throw urlNotAllowed(url, `${host} is a ${reason} address`, { address: host, reason });
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `net.connect` lookup that refuses private answers (unless allowed) and serves the checked addresses. */
function guardedLookup(policy: UrlPolicy) {
  const resolveHost =
    policy.resolveHost ??
    ((hostname: string) => dnsLookup(hostname, { all: true, verbatim: true }) as Promise<LookupAddress[]>);
  return (
    hostname: string,
    options: { all?: boolean | undefined; family?: number | string | undefined },
    callback: LookupCallback,
  ): void => {
    resolveHost(hostname).then(
      (answers) => {
        const wanted =
          options.family === 4 || options.family === "IPv4"
            ? 4
            : options.family === 6 || options.family === "IPv6"
              ? 6
              : 0;
        const addresses = answers.filter((answer) => wanted === 0 || answer.family === wanted);
        if (addresses.length === 0) {
          const error: NodeJS.ErrnoException = new Error(`${hostname} has no address`);
          error.code = "ENOTFOUND";
          callback(error, []);
          return;
        }
        if (!policy.allowPrivateUrls && !isTrusted(policy, hostname)) {
          for (const answer of addresses) {
            const reason = blockedAddressReason(answer.address);
            if (reason !== undefined) {
              callback(new BlockedAddressError(hostname, answer.address, reason), []);
              return;
            }
          }
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, []),
    );
  };
}

function findCause<T>(error: unknown, type: new (...args: never[]) => T): T | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof type) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function downloadFailed(url: URL, why: string, cause?: unknown, details: Record<string, unknown> = {}): SquintError {
  return new SquintError("DOWNLOAD_FAILED", `Could not download ${shorten(redactUrl(url))}: ${why}.`, {
    hint: "Check that the URL is reachable and serves an image, or save the image locally and pass its path.",
    details: { url: shorten(redactUrl(url), 200), ...details },
    cause,
  });
}

function tooLarge(url: URL, bytes: number, maxBytes: number): SquintError {
  return new SquintError("IMAGE_TOO_LARGE", `${shorten(redactUrl(url))} is larger than the ${maxBytes}-byte limit.`, {
    hint: "Use a smaller image, or raise the server's image size limit.",
    details: { url: shorten(redactUrl(url), 200), bytes, maxBytes },
  });
}

/** Stops a body we no longer want; undici reports the abort as an 'error' event that must not go unheard. */
function discard(body: NodeJS.ReadableStream & { destroy(): void }): void {
  body.on("error", () => undefined);
  body.destroy();
}

export async function fetchImageUrl(
  start: URL,
  policy: UrlPolicy,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<DownloadedImage> {
  const timeout = AbortSignal.timeout(policy.fetchTimeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const dispatcher = new Agent({
    connect: { lookup: guardedLookup(policy), timeout: policy.fetchTimeoutMs },
    headersTimeout: policy.fetchTimeoutMs,
    bodyTimeout: policy.fetchTimeoutMs,
  });
  let url = start;
  try {
    for (let hop = 0; ; hop++) {
      checkUrlBeforeFetch(url, policy);
      const response = await request(url, {
        dispatcher,
        method: "GET",
        signal,
        headers: { accept: "image/*", "user-agent": "squint-image-fetch" },
      });
      const location = response.headers.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && location !== undefined) {
        await response.body.dump();
        if (hop >= policy.maxRedirects) {
          throw downloadFailed(url, `more than ${policy.maxRedirects} redirects`);
        }
        const target = Array.isArray(location) ? location[0] : location;
        try {
          url = new URL(target, url);
        } catch (cause) {
          throw downloadFailed(url, `it redirects to an invalid URL "${shorten(target)}"`, cause);
        }
        continue;
      }
      if (response.statusCode < 200 || response.statusCode >= 300) {
        await response.body.dump();
        throw downloadFailed(url, `the server answered HTTP ${response.statusCode}`, undefined, {
          status: response.statusCode,
        });
      }
      const declared = Number(response.headers["content-length"]);
      if (Number.isFinite(declared) && declared > policy.maxBytes) {
        discard(response.body);
        throw tooLarge(url, declared, policy.maxBytes);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of response.body) {
        const buffer = chunk as Buffer;
        total += buffer.length;
        if (total > policy.maxBytes) {
          discard(response.body);
          throw tooLarge(url, total, policy.maxBytes);
        }
        chunks.push(buffer);
      }
      const body = Buffer.concat(chunks);
      const type = response.headers["content-type"];
      return {
        url: url.href,
        bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
        contentType: Array.isArray(type) ? type[0] : type,
      };
    }
  } catch (error) {
    if (isSquintError(error)) throw error;
    const blocked = findCause(error, BlockedAddressError);
    if (blocked) {
      throw urlNotAllowed(url, `${blocked.hostname} resolves to ${blocked.address}, a ${blocked.reason} address`, {
        address: blocked.address,
        reason: blocked.reason,
      });
    }
    if (options.signal?.aborted) {
      throw new SquintError("ABORTED", "The download was cancelled.", { cause: error });
    }
    if (
      timeout.aborted ||
      errorCode(error) === "UND_ERR_HEADERS_TIMEOUT" ||
      errorCode(error) === "UND_ERR_BODY_TIMEOUT"
    ) {
      throw downloadFailed(url, `it took longer than ${policy.fetchTimeoutMs} ms`, error, {
        timeoutMs: policy.fetchTimeoutMs,
      });
    }
    const code = errorCode(error);
    throw downloadFailed(url, code ? `${code}` : error instanceof Error ? error.message : String(error), error);
  } finally {
    // destroy, not close: a slow body still streaming must not keep the socket (or this call) alive.
    dispatcher.destroy().catch(() => undefined);
  }
}
