import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SquintError } from "../../../src/errors.js";
import { defaultSourcePolicy, type SourcePolicy } from "../../../src/tools/sources/policy.js";
import { fetchImageUrl } from "../../../src/tools/sources/url.js";

const BODY = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
let server: Server;
let origin: string;
let port: number;
/** How many /slow downloads the server has begun answering. */
let slowStarted = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? "/";
    if (path === "/ok.png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": BODY.length });
      res.end(BODY);
    } else if (path === "/big-declared") {
      res.writeHead(200, { "content-type": "image/png", "content-length": 5000 });
      res.end(Buffer.alloc(5000));
    } else if (path === "/big-chunked") {
      res.writeHead(200, { "content-type": "image/png" });
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(500));
      res.end();
    } else if (path === "/slow") {
      slowStarted++;
      res.writeHead(200, { "content-type": "image/png" });
      const timer = setInterval(() => res.write(Buffer.alloc(1)), 100);
      res.on("close", () => clearInterval(timer));
    } else if (path === "/to-private") {
      res.writeHead(302, { location: "http://10.0.0.1/secret.png" });
      res.end();
    } else if (path === "/to-metadata") {
      res.writeHead(301, { location: "http://169.254.169.254/latest/meta-data/" });
      res.end();
    } else if (path === "/to-localhost") {
      res.writeHead(302, { location: `http://localhost:${port}/ok.png` });
      res.end();
    } else if (path === "/to-ftp") {
      res.writeHead(302, { location: "ftp://example.com/a.png" });
      res.end();
    } else if (path === "/relative") {
      res.writeHead(307, { location: "/ok.png" });
      res.end();
    } else if (path === "/loop") {
      res.writeHead(302, { location: "/loop" });
      res.end();
    } else {
      res.writeHead(404);
      res.end("not here");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const trustLocal = (overrides: Partial<SourcePolicy> = {}) =>
  defaultSourcePolicy({ trustedHosts: ["127.0.0.1"], ...overrides });

async function failure(promise: Promise<unknown>): Promise<SquintError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SquintError) return error;
    throw error;
  }
  throw new Error("expected a SquintError");
}

describe("fetchImageUrl", () => {
  it("downloads from a trusted host, following a relative redirect", async () => {
    const image = await fetchImageUrl(new URL(`${origin}/relative`), trustLocal());
    expect(Buffer.from(image.bytes).equals(BODY)).toBe(true);
    expect(image.url).toBe(`${origin}/ok.png`);
    expect(image.contentType).toBe("image/png");
  });

  it("downloads anything with allowPrivateUrls, redirects to localhost included", async () => {
    const image = await fetchImageUrl(
      new URL(`${origin}/to-localhost`),
      defaultSourcePolicy({ allowPrivateUrls: true }),
    );
    expect(Buffer.from(image.bytes).equals(BODY)).toBe(true);
  });

  it.each([
    ["literal loopback", "http://127.0.0.1:1/a.png"],
    ["literal private", "http://10.0.0.1/a.png"],
    ["cloud metadata", "http://169.254.169.254/latest/meta-data/"],
    ["IPv6 loopback", "http://[::1]/a.png"],
    ["IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]/a.png"],
    ["decimal-encoded loopback", "http://2130706433/a.png"],
    ["localhost by name (resolved)", "http://localhost:1/a.png"],
  ])("refuses %s without connecting", async (_name, url) => {
    const error = await failure(fetchImageUrl(new URL(url), defaultSourcePolicy()));
    expect(error.code).toBe("URL_NOT_ALLOWED");
    expect(error.hint).toContain("--allow-private-urls");
  });

  it("keeps query strings and credentials (often tokens) out of error messages", async () => {
    const error = await failure(
      fetchImageUrl(new URL("http://me:pw@10.0.0.1/a.png?sig=secret"), defaultSourcePolicy()),
    );
    expect(error.message).toContain("http://10.0.0.1/a.png");
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toMatch(/secret|pw@/);
  });

  it("refuses a host name whose DNS answer is private, and one with any private answer", async () => {
    const resolveHost = async (hostname: string) =>
      hostname === "rebind.example"
        ? [{ address: "10.1.2.3", family: 4 }]
        : [
            { address: "93.184.216.34", family: 4 },
            { address: "192.168.0.7", family: 4 },
          ];
    for (const host of ["rebind.example", "mixed.example"]) {
      const error = await failure(fetchImageUrl(new URL(`http://${host}/a.png`), defaultSourcePolicy({ resolveHost })));
      expect(error.code).toBe("URL_NOT_ALLOWED");
      expect(error.message).toMatch(/resolves to (10\.1\.2\.3|192\.168\.0\.7)/);
    }
  });

  it.each([
    ["/to-private", "10.0.0.1"],
    ["/to-metadata", "169.254.169.254"],
    ["/to-localhost", "localhost"],
  ])("refuses a redirect (%s) to a private address", async (path, host) => {
    const error = await failure(fetchImageUrl(new URL(`${origin}${path}`), trustLocal()));
    expect(error.code).toBe("URL_NOT_ALLOWED");
    expect(error.message).toContain(host);
  });

  it("refuses a redirect to another scheme", async () => {
    expect((await failure(fetchImageUrl(new URL(`${origin}/to-ftp`), trustLocal()))).code).toBe("URL_NOT_ALLOWED");
  });

  it.each([
    ["a declared size over the limit", "/big-declared", "IMAGE_TOO_LARGE"],
    ["a streamed size over the limit", "/big-chunked", "IMAGE_TOO_LARGE"],
    ["a redirect loop", "/loop", "DOWNLOAD_FAILED"],
    ["a 404", "/missing", "DOWNLOAD_FAILED"],
    ["a download slower than the time limit", "/slow", "DOWNLOAD_FAILED"],
  ])("fails cleanly on %s", async (_name, path, code) => {
    const error = await failure(
      fetchImageUrl(new URL(`${origin}${path}`), trustLocal({ maxBytes: 1000, fetchTimeoutMs: 400 })),
    );
    expect(error.code).toBe(code);
    expect(error.hint).toBeTruthy();
  });

  it("reports a cancelled download as ABORTED", async () => {
    const controller = new AbortController();
    const before = slowStarted;
    const pending = failure(
      fetchImageUrl(new URL(`${origin}/slow`), trustLocal({ fetchTimeoutMs: 5000 }), { signal: controller.signal }),
    );
    // Cancel mid-download: once the server has started sending the body.
    await expect.poll(() => slowStarted).toBeGreaterThan(before);
    controller.abort();
    const error = await pending;
    expect(error.code).toBe("ABORTED");
  });
});
