import type { LookupAddress } from "node:dns";

/**
 * What an image argument may name, and how much it may cost to read. The MCP server builds one per tool
 * call from its command-line flags and the client's current roots; the agent builds one from its options.
 */
export interface SourcePolicy {
  /**
   * Directories an image path may lie under (after realpath on both sides). Empty means no path is
   * readable: a server with no roots and no --allow directory refuses every path.
   */
  allowedDirs: readonly string[];
  /** Fetch URLs whose host is loopback, private, link-local or otherwise not public. Off by default. */
  allowPrivateUrls: boolean;
  /**
   * Host names (or IP literals) trusted although they are private, e.g. an internal image server. They are
   * matched against the URL's host exactly, never against what it resolves to; other hosts stay checked.
   */
  trustedHosts: readonly string[];
  /** Most bytes read from a file, a download or a data URI. */
  maxBytes: number;
  /** Wall time for one download, redirects included, in milliseconds. */
  fetchTimeoutMs: number;
  /** Redirects followed per download; each hop is checked like the first URL. */
  maxRedirects: number;
  /**
   * Name resolution used to check and to connect (the same answer serves both, so a host cannot resolve
   * to a public address for the check and a private one for the connection). Tests replace it.
   */
  resolveHost?: (hostname: string) => Promise<readonly LookupAddress[]>;
}

export const DEFAULT_MAX_IMAGE_BYTES = 50 * 1024 * 1024;
export const DEFAULT_FETCH_TIMEOUT_MS = 20_000;
export const DEFAULT_MAX_REDIRECTS = 5;

/** A policy that allows nothing but data URIs, base64 and store ids; callers widen it. */
export function defaultSourcePolicy(overrides: Partial<SourcePolicy> = {}): SourcePolicy {
  return {
    allowedDirs: [],
    allowPrivateUrls: false,
    trustedHosts: [],
    maxBytes: DEFAULT_MAX_IMAGE_BYTES,
    fetchTimeoutMs: DEFAULT_FETCH_TIMEOUT_MS,
    maxRedirects: DEFAULT_MAX_REDIRECTS,
    ...overrides,
  };
}
