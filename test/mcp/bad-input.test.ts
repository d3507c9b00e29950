import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BadImages, writeBadImages } from "./bad-images.js";
import {
  callTool,
  connectHttp,
  connectStdio,
  expectCodedError,
  type SpawnedHttpServer,
  spawnHttpServer,
  textOf,
} from "./harness.js";

/**
 * One row per awkward input. Every row gets a clear, coded error (or, for odd-but-valid images, the right
 * pixels), and the server answers a normal request right after it. Two servers: "strict" (HTTP with a token,
 * no private URLs at all) and "fetching" (stdio, trusting the one URL host 127.0.0.1 so that downloads from
 * the local test server really happen, with a 1 MB and 1 s download limit).
 */
const TOKEN = "bad-input-token";
let base: string;
let images: BadImages;
let strictServer: SpawnedHttpServer;
let strict: Client;
let fetching: Client;
let urlServer: Server;
let urlOrigin: string;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), "squint-bad-"));
  const dir = join(base, "allowed");
  mkdirSync(dir);
  images = await writeBadImages(dir);
  const good = await sharp({ create: { width: 16, height: 16, channels: 3, background: "#00aa00" } })
    .png()
    .toBuffer();
  urlServer = createServer((req, res) => {
    const port = (urlServer.address() as AddressInfo).port;
    if (req.url === "/ok.png") {
      res.writeHead(200, { "content-type": "image/png" }).end(good);
    } else if (req.url === "/to-private") {
      res.writeHead(302, { location: "http://10.0.0.1/internal.png" }).end();
    } else if (req.url === "/to-localhost") {
      res.writeHead(302, { location: `http://localhost:${port}/ok.png` }).end();
    } else if (req.url === "/big.png") {
      res.writeHead(200, { "content-type": "image/png" });
      for (let i = 0; i < 32; i++) res.write(Buffer.alloc(64 * 1024)); // 2 MB, no content-length
      res.end();
    } else if (req.url === "/slow.png") {
      res.writeHead(200, { "content-type": "image/png" });
      const timer = setInterval(() => res.write(Buffer.alloc(16)), 200);
      res.on("close", () => clearInterval(timer));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => urlServer.listen(0, "127.0.0.1", resolve));
  urlOrigin = `http://127.0.0.1:${(urlServer.address() as AddressInfo).port}`;
  [strictServer, { client: fetching }] = await Promise.all([
    spawnHttpServer(["--token", TOKEN, "--allow", dir]),
    connectStdio(["--allow", dir, "--allow-url-host", "127.0.0.1", "--max-image-mb", "1", "--fetch-timeout-s", "1"]),
  ]);
  ({ client: strict } = await connectHttp(strictServer.url, TOKEN));
}, 120_000);

afterAll(async () => {
  await strict?.close();
  await fetching?.close();
  await strictServer?.stop();
  urlServer?.closeAllConnections();
  urlServer?.close();
  rmSync(base, { recursive: true, force: true });
});

/** The image a successful result links to, decoded to raw RGB through a resources/read. */
async function linkedPixels(client: Client, result: CallToolResult) {
  const link = result.content.find((part) => part.type === "resource_link");
  if (link?.type !== "resource_link") throw new Error(`no image link in: ${textOf(result)}`);
  const read = await client.readResource({ uri: link.uri });
  const content = read.contents[0];
  const blob = content && "blob" in content ? content.blob : "";
  const { data, info } = await sharp(Buffer.from(blob, "base64")).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [
    ...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3),
  ];
  return { width: info.width, height: info.height, at };
}

function close(actual: number[], expected: number[], tolerance = 40): boolean {
  return actual.every((value, index) => Math.abs(value - expected[index]) <= tolerance);
}

type ToolRow = {
  name: string;
  server: "strict" | "fetching";
  tool: string;
  args: () => Record<string, unknown>;
  /** An error code, or a check of a successful result. */
  expected: string | ((result: CallToolResult, client: Client) => Promise<void>);
};

/** A crop of the whole image, so the result is a linked image with the decoded pixels. */
const whole = (image: () => string) => ({
  tool: "image_crop",
  args: () => ({ image: image(), bbox_2d: [0, 0, 1000, 1000] }),
});

const toolRows: ToolRow[] = [
  {
    name: "empty file",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: images.empty }),
    expected: "IMAGE_DECODE_FAILED",
  },
  {
    name: "truncated JPEG",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: images.truncatedJpeg }),
    expected: "IMAGE_DECODE_FAILED",
  },
  {
    name: "text file named .png",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: images.textAsPng }),
    expected: "IMAGE_UNSUPPORTED",
  },
  {
    name: "PNG header claiming 30000×30000",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: images.hugeHeader }),
    expected: "IMAGE_TOO_LARGE",
  },
  {
    name: "SVG",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: images.svg }),
    expected: "IMAGE_UNSUPPORTED",
  },
  {
    name: "animated GIF (first frame)",
    server: "strict",
    ...whole(() => images.animatedGif),
    expected: async (result, client) => {
      const pixels = await linkedPixels(client, result);
      expect([pixels.width, pixels.height]).toEqual([8, 6]);
      expect(close(pixels.at(4, 3), [255, 0, 0])).toBe(true);
    },
  },
  {
    name: "CMYK JPEG",
    server: "strict",
    ...whole(() => images.cmykJpeg),
    expected: async (result, client) => {
      const pixels = await linkedPixels(client, result);
      expect([pixels.width, pixels.height]).toEqual([30, 20]);
      expect(close(pixels.at(15, 10), [255, 0, 0], 60)).toBe(true);
    },
  },
  {
    name: "16-bit PNG",
    server: "strict",
    ...whole(() => images.png16),
    expected: async (result, client) => {
      const pixels = await linkedPixels(client, result);
      expect([pixels.width, pixels.height]).toEqual([30, 20]);
      expect(pixels.at(15, 10)).toEqual([0, 255, 0]);
    },
  },
  {
    name: "EXIF-rotated JPEG comes out upright",
    server: "strict",
    ...whole(() => images.exifRotated),
    expected: async (result, client) => {
      const pixels = await linkedPixels(client, result);
      expect([pixels.width, pixels.height]).toEqual([20, 40]);
      expect(close(pixels.at(10, 5), [255, 0, 0])).toBe(true);
      expect(close(pixels.at(10, 35), [0, 0, 255])).toBe(true);
    },
  },
  {
    name: "inverted box",
    server: "strict",
    tool: "image_zoom_in_tool",
    args: () => ({ image: images.good, bbox_2d: [600, 600, 100, 100] }),
    expected: "INVALID_ARGUMENT",
  },
  {
    name: "out-of-range box",
    server: "strict",
    tool: "image_zoom_in_tool",
    args: () => ({ image: images.good, bbox_2d: [0, 0, 2000, 500] }),
    expected: "INVALID_ARGUMENT",
  },
  // JSON has no NaN: JSON.stringify turns it into null, and a client may send the string.
  {
    name: "NaN box (null on the wire)",
    server: "strict",
    tool: "image_zoom_in_tool",
    args: () => ({ image: images.good, bbox_2d: [0, Number.NaN, 10, 10] }),
    expected: "INVALID_ARGUMENT",
  },
  {
    name: 'NaN box ("NaN" string)',
    server: "strict",
    tool: "image_crop",
    args: () => ({ image: images.good, bbox_2d: [0, "NaN", 10, 10] }),
    expected: "INVALID_ARGUMENT",
  },
  {
    name: "unknown image id (link)",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: "squint://images/img-99999" }),
    expected: "NOT_FOUND",
  },
  {
    name: "unknown image id (bare)",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: "img-99999" }),
    // Shaped like a store id, so it is a stale id rather than a relative path.
    expected: "NOT_FOUND",
  },
  {
    name: "path outside the roots",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: images.outside }),
    expected: "PATH_NOT_ALLOWED",
  },
  {
    name: "symlink escaping the roots",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: images.escapingLink }),
    expected: "PATH_NOT_ALLOWED",
  },
  {
    name: "URL to 127.0.0.1",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: `${urlOrigin}/ok.png` }),
    expected: "URL_NOT_ALLOWED",
  },
  {
    name: "URL to 10.0.0.1",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: "http://10.0.0.1/a.png" }),
    expected: "URL_NOT_ALLOWED",
  },
  {
    name: "URL to 169.254.169.254",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: "http://169.254.169.254/latest/meta-data/" }),
    expected: "URL_NOT_ALLOWED",
  },
  {
    name: "host name that resolves to a private address",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: `${urlOrigin.replace("127.0.0.1", "localhost")}/ok.png` }),
    expected: async (result) => {
      expectCodedError(result, "URL_NOT_ALLOWED");
      expect(textOf(result)).toMatch(/localhost resolves to (127\.0\.0\.1|::1)/);
    },
  },
  {
    name: "non-http URL scheme",
    server: "strict",
    tool: "image_info",
    args: () => ({ image: "ftp://example.com/a.png" }),
    expected: "URL_NOT_ALLOWED",
  },
  {
    name: "download from a trusted host (control: fetching really happens)",
    server: "fetching",
    tool: "image_info",
    args: () => ({ image: `${urlOrigin}/ok.png` }),
    expected: async (result) => {
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ width: 16, height: 16 });
    },
  },
  {
    name: "redirect to a private address",
    server: "fetching",
    tool: "image_info",
    args: () => ({ image: `${urlOrigin}/to-private` }),
    expected: "URL_NOT_ALLOWED",
  },
  {
    name: "redirect to localhost",
    server: "fetching",
    tool: "image_info",
    args: () => ({ image: `${urlOrigin}/to-localhost` }),
    expected: "URL_NOT_ALLOWED",
  },
  {
    name: "oversized download",
    server: "fetching",
    tool: "image_info",
    args: () => ({ image: `${urlOrigin}/big.png` }),
    expected: "IMAGE_TOO_LARGE",
  },
  {
    name: "slow download",
    server: "fetching",
    tool: "image_info",
    args: () => ({ image: `${urlOrigin}/slow.png` }),
    expected: "DOWNLOAD_FAILED",
  },
];

/** A raw request to the strict server's /mcp with chosen headers; resolves to the status code. */
function rawStatus(headers: Record<string, string>): Promise<number> {
  const url = new URL(strictServer.url);
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "0" } },
  });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const httpRows: { name: string; headers: () => Record<string, string>; status: number }[] = [
  { name: "missing token", headers: () => ({}), status: 401 },
  { name: "wrong token", headers: () => ({ authorization: "Bearer not-the-token" }), status: 401 },
  {
    name: "foreign Origin",
    headers: () => ({ authorization: `Bearer ${TOKEN}`, origin: "https://evil.example" }),
    status: 403,
  },
  { name: 'opaque Origin "null"', headers: () => ({ authorization: `Bearer ${TOKEN}`, origin: "null" }), status: 403 },
  {
    name: "foreign Host (DNS rebinding)",
    headers: () => ({ authorization: `Bearer ${TOKEN}`, host: "evil.example:80" }),
    status: 403,
  },
  {
    name: "control: right token, local Origin",
    headers: () => ({ authorization: `Bearer ${TOKEN}`, origin: "http://localhost:5173" }),
    status: 200,
  },
];

async function stillServing(client: Client): Promise<void> {
  const result = await callTool(client, "image_info", { image: images.good });
  expect(result.isError, textOf(result)).toBeFalsy();
  expect(result.structuredContent).toMatchObject({ width: 64, height: 48 });
}

describe("bad inputs through squint mcp", () => {
  it.each(toolRows)(
    "$name",
    async (row) => {
      const client = row.server === "strict" ? strict : fetching;
      const result = await callTool(client, row.tool, row.args());
      if (typeof row.expected === "string") expectCodedError(result, row.expected);
      else await row.expected(result, client);
      await stillServing(client);
    },
    30_000,
  );

  it.each(httpRows)(
    "HTTP: $name -> $status",
    async (row) => {
      expect(await rawStatus(row.headers())).toBe(row.status);
      await stillServing(strict);
    },
    30_000,
  );
});
