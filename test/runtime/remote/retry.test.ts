import { describe, expect, it } from "vitest";
import {
  isRetryableNetworkError,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  retryDelay,
  sleep,
} from "../../../src/runtime/remote/retry.js";

describe("retry policy", () => {
  it("retries 408, 429 and 5xx gateway/overload statuses only", () => {
    expect([408, 429, 500, 502, 503, 504].every((status) => RETRYABLE_STATUSES.has(status))).toBe(true);
    expect([400, 401, 403, 404, 413, 422, 501].some((status) => RETRYABLE_STATUSES.has(status))).toBe(false);
  });

  it("recognises connection failures by code, also when wrapped as a cause", () => {
    expect(isRetryableNetworkError(Object.assign(new Error("reset"), { code: "ECONNRESET" }))).toBe(true);
    expect(
      isRetryableNetworkError(
        new Error("fetch failed", { cause: Object.assign(new Error("x"), { code: "UND_ERR_SOCKET" }) }),
      ),
    ).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error("bad"), { code: "ERR_INVALID_URL" }))).toBe(false);
    expect(isRetryableNetworkError(undefined)).toBe(false);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter(["0.5"])).toBe(500);
    const now = Date.parse("Sat, 28 Nov 2026 04:00:00 GMT");
    expect(parseRetryAfter("Sat, 28 Nov 2026 04:00:03 GMT", now)).toBe(3000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it("backs off exponentially with bounded jitter, capped, and follows Retry-After up to the cap", () => {
    const options = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(retryDelay(0, options, undefined, () => 0)).toBe(75);
    expect(retryDelay(0, options, undefined, () => 1)).toBe(125);
    expect(retryDelay(2, options, undefined, () => 0.5)).toBe(400);
    expect(retryDelay(10, options, undefined, () => 0.5)).toBe(1000);
    expect(retryDelay(0, options, 300)).toBe(300);
    expect(retryDelay(0, options, 60_000)).toBe(1000);
  });

  it("sleep wakes early with ABORTED when the signal fires", async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "ABORTED" });
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
