import { describe, expect, it } from "vitest";
import { parseServeArgs, serveLimits } from "../../../src/cli/commands/serve.js";
import { SquintError } from "../../../src/errors.js";
import { call, spawnServe } from "../../http/harness.js";

describe("squint serve arguments", () => {
  it("defaults to loopback, no model, CORS off", () => {
    const args = parseServeArgs([], {});
    expect(args).toMatchObject({ warmup: true, corsOrigin: [], allowPrivateUrls: false });
    expect(args.host).toBeUndefined();
    expect(serveLimits(args)).toEqual({});
  });

  it("turns limit flags into limits in bytes and milliseconds", () => {
    const args = parseServeArgs(
      [
        "--max-body-mb",
        "2",
        "--max-queue",
        "0",
        "--queue-timeout-s",
        "1.5",
        "--max-concurrent",
        "4",
        "--max-pixels",
        "1000",
      ],
      {},
    );
    expect(serveLimits(args)).toEqual({
      maxBodyBytes: 2 * 1024 * 1024,
      maxQueuedModel: 0,
      queueTimeoutMs: 1500,
      maxConcurrentModel: 4,
      maxPixelsPerImage: 1000,
    });
  });

  it("reads the token from SQUINT_SERVE_TOKEN, the flag winning", () => {
    expect(parseServeArgs([], { SQUINT_SERVE_TOKEN: "env" }).token).toBe("env");
    expect(parseServeArgs(["--token", "flag"], { SQUINT_SERVE_TOKEN: "env" }).token).toBe("flag");
  });

  it.each([
    [["--model", "x", "--base-url", "http://127.0.0.1:1/v1"]],
    [["--port", "70000"]],
    [["--max-queue=-1"]],
    [["--base-url", "ftp://x"]],
    [["stray"]],
  ])("refuses %j with a coded error", (argv) => {
    expect(() => parseServeArgs(argv, {})).toThrow(SquintError);
  });
});

describe("squint serve (process)", () => {
  it("listens on loopback, answers /health and /ready, stops on SIGTERM", async () => {
    const server = await spawnServe([]);
    try {
      expect((await call(`${server.url}/health`)).status).toBe(200);
      expect((await call(`${server.url}/ready`)).body).toMatchObject({ ready: true, model: "none" });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("refuses a non-loopback bind without a token", async () => {
    await expect(spawnServe(["--host", "0.0.0.0"])).rejects.toThrow(/without a token/);
  });
});
