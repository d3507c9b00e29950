import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServeHandle } from "../../src/http/server.js";
import type { Backend } from "../../src/runtime/backend.js";
import type { OcrFunction } from "../../src/tools/context.js";
import { pngClaiming } from "../mcp/bad-images.js";
import { answerReply, ScriptedBackend } from "../support/scripted-backend.js";
import { call, expectError, fixedOcr, pngDataUrl, startServer } from "./harness.js";

/**
 * The server skeleton over loopback: health, readiness, metrics, OpenAPI, X-Request-Id, uploads, and
 * /v1/locate's OCR path with a fixed OCR answer; then one row per bad input, each a coded error with no
 * stack trace, and a good request still answered after it.
 */

const TOKEN = "serve-test-token";
const SAVE_BOX: [number, number, number, number] = [40, 20, 120, 44];
let server: ServeHandle;
let guarded: ServeHandle;
let image: string;
let urlServer: Server;
let urlOrigin: string;

beforeAll(async () => {
  image = await pngDataUrl(200, 100);
  server = await startServer({
    ocr: fixedOcr([
      { text: "Save", box: SAVE_BOX },
      { text: "Cancel", box: [130, 20, 190, 44] },
    ]),
    limits: { maxBodyBytes: 256 * 1024, maxPixelsPerImage: 1000 * 1000, maxQueries: 4, maxUploads: 2 },
  });
  guarded = await startServer({ token: TOKEN, ocr: fixedOcr([]) });
  urlServer = createServer((_req, res) => res.writeHead(200, { "content-type": "image/png" }).end());
  await new Promise<void>((resolve) => urlServer.listen(0, "127.0.0.1", resolve));
  urlOrigin = `http://127.0.0.1:${(urlServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await server?.close();
  await guarded?.close();
  urlServer?.close();
});

describe("service routes", () => {
  it("/health is 200 and /ready is 200 without a model", async () => {
    const health = await call(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: "ok", model: "none" });
    const ready = await call(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, model: "none" });
  });

  it("echoes a given X-Request-Id and makes one otherwise", async () => {
    const given = await call(`${server.url}/health`, { headers: { "x-request-id": "abc-123" } });
    expect(given.headers.get("x-request-id")).toBe("abc-123");
    const made = await call(`${server.url}/health`);
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves an OpenAPI document generated from the route schemas", async () => {
    const doc = await call(`${server.url}/openapi.json`);
    expect(doc.status).toBe(200);
    const spec = doc.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(spec.openapi).toMatch(/^3\./);
    for (const path of ["/v1/locate", "/v1/images", "/health", "/ready", "/v1/models"]) {
      expect(Object.keys(spec.paths)).toContain(path);
    }
    const locate = spec.paths["/v1/locate"]!.post as { requestBody: { content: Record<string, { schema: unknown }> } };
    expect(JSON.stringify(locate.requestBody.content["application/json"]!.schema)).toContain("max_results");
  });

  it("/v1/models lists nothing without a model", async () => {
    const models = await call(`${server.url}/v1/models`);
    expect(models.body).toEqual({ object: "list", data: [] });
  });

  it("/metrics is Prometheus text with vLLM names", async () => {
    await call(`${server.url}/v1/locate`, { body: { image, query: "Save" } });
    const metrics = await call(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/text\/plain/);
    for (const name of [
      "vllm:num_requests_running",
      "vllm:num_requests_waiting",
      "vllm:e2e_request_latency_seconds_bucket",
      "vllm:request_queue_time_seconds_bucket",
      "vllm:admission_rejections_total",
      "squint_locate_queries_total",
      "process_resident_memory_bytes",
    ]) {
      expect(metrics.text).toContain(name);
    }
    expect(metrics.text).toMatch(/squint_locate_queries_total\{method="ocr",found="true"\} [1-9]/);
  });
});

describe("/v1/locate without a model (OCR)", () => {
  it("finds text in original pixels, with a point, a rel-1000 box and the OCR confidence", async () => {
    const reply = await call(`${server.url}/v1/locate`, { body: { image, query: ["Save", "Delete"] } });
    expect(reply.status).toBe(200);
    const body = reply.body as {
      image: { width: number; height: number };
      model: null;
      results: Array<{ query: string; found: boolean; detections: Array<Record<string, unknown>>; note?: string }>;
    };
    expect(body.image).toEqual({ width: 200, height: 100 });
    expect(body.model).toBeNull();
    const [save, missing] = body.results;
    expect(save).toMatchObject({ query: "Save", found: true });
    expect(save!.detections[0]).toMatchObject({
      text: "Save",
      box: SAVE_BOX,
      box_rel1000: [200, 200, 600, 440],
      point: [80, 32],
      score: 0.9,
      score_kind: "ocr_confidence",
      clamped: false,
      method: "ocr",
    });
    expect(missing).toMatchObject({ query: "Delete", found: false, detections: [] });
    expect(missing!.note).toMatch(/--model/);
  });

  it("point mode gives points only", async () => {
    const reply = await call(`${server.url}/v1/locate`, { body: { image, query: "Cancel", mode: "point" } });
    const detection = (reply.body as { results: Array<{ detections: Array<Record<string, unknown>> }> }).results[0]!
      .detections[0]!;
    expect(detection).toMatchObject({ box: null, box_rel1000: null, point: [160, 32] });
  });
});

describe("/v1/images", () => {
  it("uploads once, then locate names the upload by id; the table is bounded", async () => {
    const upload = await call(`${server.url}/v1/images`, { body: { image } });
    expect(upload.status).toBe(200);
    const { id, width, height } = upload.body as { id: string; width: number; height: number };
    expect(id).toMatch(/^upl_/);
    expect({ width, height }).toEqual({ width: 200, height: 100 });
    const located = await call(`${server.url}/v1/locate`, { body: { image: id, query: "Save" } });
    expect(located.status).toBe(200);
    expect((located.body as { results: Array<{ found: boolean }> }).results[0]!.found).toBe(true);
    // Two more uploads push the first one out (maxUploads 2).
    await call(`${server.url}/v1/images`, { body: { image: await pngDataUrl(10, 10, "#ff0000") } });
    await call(`${server.url}/v1/images`, { body: { image: await pngDataUrl(10, 10, "#00ff00") } });
    expectError(await call(`${server.url}/v1/locate`, { body: { image: id, query: "Save" } }), 404, "NOT_FOUND");
  });

  it("DELETE drops an upload", async () => {
    const { id } = (await call(`${server.url}/v1/images`, { body: { image } })).body as { id: string };
    expect((await call(`${server.url}/v1/images/${id}`, { method: "DELETE" })).status).toBe(200);
    expectError(await call(`${server.url}/v1/images/${id}`, { method: "DELETE" }), 404, "NOT_FOUND");
  });
});

describe("bad input", () => {
  const rows: Array<{
    name: string;
    request: () => Promise<{ path: string; body?: unknown; raw?: string; headers?: Record<string, string> }>;
    status: number;
    code: string;
  }> = [
    {
      name: "bad JSON",
      request: async () => ({ path: "/v1/locate", raw: "{not json" }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "wrong type (query a number)",
      request: async () => ({ path: "/v1/locate", body: { image, query: 5 } }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "missing image",
      request: async () => ({ path: "/v1/locate", body: { query: "Save" } }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "empty query",
      request: async () => ({ path: "/v1/locate", body: { image, query: "  " } }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "max_results out of range",
      request: async () => ({ path: "/v1/locate", body: { image, query: "Save", max_results: 1000 } }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "body over the limit",
      request: async () => ({
        path: "/v1/locate",
        body: { image: `data:image/png;base64,${"A".repeat(300_000)}`, query: "x" },
      }),
      status: 413,
      code: "REQUEST_TOO_LARGE",
    },
    {
      name: "image over the pixel limit (header only, never decoded)",
      request: async () => ({
        path: "/v1/locate",
        body: { image: `data:image/png;base64,${pngClaiming(5000, 5000).toString("base64")}`, query: "x" },
      }),
      status: 413,
      code: "IMAGE_TOO_LARGE",
    },
    {
      name: "too many queries",
      request: async () => ({ path: "/v1/locate", body: { image, query: ["a", "b", "c", "d", "e"] } }),
      status: 413,
      code: "REQUEST_TOO_LARGE",
    },
    {
      name: "private URL",
      request: async () => ({ path: "/v1/locate", body: { image: `${urlOrigin}/x.png`, query: "x" } }),
      status: 403,
      code: "URL_NOT_ALLOWED",
    },
    {
      name: "link-local metadata URL",
      request: async () => ({ path: "/v1/images", body: { image: "http://169.254.169.254/latest/meta-data" } }),
      status: 403,
      code: "URL_NOT_ALLOWED",
    },
    {
      name: "a file path",
      request: async () => ({ path: "/v1/locate", body: { image: "/etc/passwd", query: "x" } }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "a raw store id (another client's image)",
      request: async () => ({ path: "/v1/locate", body: { image: "img-1", query: "x" } }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
    {
      name: "unknown upload id",
      request: async () => ({ path: "/v1/locate", body: { image: "upl_0123456789abcdefghijkl", query: "x" } }),
      status: 404,
      code: "NOT_FOUND",
    },
    {
      name: "not an image",
      request: async () => ({
        path: "/v1/locate",
        body: { image: `data:image/png;base64,${Buffer.from("hello, not a picture").toString("base64")}`, query: "x" },
      }),
      status: 415,
      code: "IMAGE_UNSUPPORTED",
    },
    {
      name: "method model without a model",
      request: async () => ({ path: "/v1/locate", body: { image, query: "the cat", method: "model" } }),
      status: 501,
      code: "MODEL_REQUIRED",
    },
    {
      name: "unknown route",
      request: async () => ({ path: "/v1/nothing", body: {} }),
      status: 404,
      code: "NOT_FOUND",
    },
    {
      name: "wrong content type",
      request: async () => ({ path: "/v1/locate", raw: "image=x", headers: { "content-type": "text/plain" } }),
      status: 400,
      code: "INVALID_ARGUMENT",
    },
  ];

  it.each(rows)("$name → $status $code", async (row) => {
    const { path, ...init } = await row.request();
    const reply = await call(`${server.url}${path}`, init);
    expectError(reply, row.status, row.code);
    // The server still answers a good request right after.
    const good = await call(`${server.url}/v1/locate`, { body: { image, query: "Save" } });
    expect(good.status).toBe(200);
  });

  it("missing or wrong token → 401; /health and /ready need none", async () => {
    expectError(await call(`${guarded.url}/v1/locate`, { body: { image, query: "x" } }), 401, "UNAUTHORIZED");
    expectError(await call(`${guarded.url}/metrics`, { token: "wrong" }), 401, "UNAUTHORIZED");
    expect((await call(`${guarded.url}/health`)).status).toBe(200);
    expect((await call(`${guarded.url}/ready`)).status).toBe(200);
    expect((await call(`${guarded.url}/v1/locate`, { body: { image, query: "x" }, token: TOKEN })).status).toBe(200);
  });

  it("refuses to bind a non-loopback address without a token", async () => {
    await expect(startServer({ host: "0.0.0.0" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("queue full → 429 with Retry-After, decided before the image is read", async () => {
    let releaseOcr!: () => void;
    const gate = new Promise<void>((resolve) => {
      releaseOcr = resolve;
    });
    const slow: OcrFunction = async (pixels, signal) => {
      await gate;
      return fixedOcr([])(pixels, signal);
    };
    const busy = await startServer({ ocr: slow, limits: { maxConcurrentOcr: 1, maxQueuedOcr: 1 } });
    try {
      const first = call(`${busy.url}/v1/locate`, { body: { image, query: "a" } });
      const second = call(`${busy.url}/v1/locate`, { body: { image, query: "b" } });
      await expect.poll(() => busy.context.lanes.ocr.waiting).toBe(1);
      // A URL nobody could fetch: were the image read before admission, this would be a 403.
      const third = await call(`${busy.url}/v1/locate`, { body: { image: "http://10.0.0.1/x.png", query: "c" } });
      expectError(third, 429, "QUEUE_FULL");
      expect(Number(third.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      releaseOcr();
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
      const metrics = await call(`${busy.url}/metrics`);
      expect(metrics.text).toMatch(/vllm:admission_rejections_total\{reason="queue_full"\} 1/);
    } finally {
      releaseOcr();
      await busy.close();
    }
  });

  it("model not ready → 503 with Retry-After; /ready is 503 until loaded", async () => {
    let resolveBackend!: (backend: Backend) => void;
    const loading = await startServer({
      backend: () =>
        new Promise<Backend>((resolve) => {
          resolveBackend = resolve;
        }),
      ocr: fixedOcr([]),
    });
    try {
      const ready = await call(`${loading.url}/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ ready: false, model: "loading" });
      const located = await call(`${loading.url}/v1/locate`, { body: { image, query: "the cat" } });
      expectError(located, 503, "NOT_READY");
      expect(located.headers.get("retry-after")).toBeTruthy();
      // method ocr still works while the model loads.
      expect((await call(`${loading.url}/v1/locate`, { body: { image, query: "x", method: "ocr" } })).status).toBe(200);
    } finally {
      resolveBackend?.({
        info: { name: "never", thinking: false, minPixels: 1, maxPixels: 1 },
        async *generate() {
          yield { type: "finish", reason: "stop" };
        },
        async close() {},
      });
      await loading.close();
    }
  });

  it("a request that runs past --request-timeout-s → 504 TIMEOUT, and the model is free again", async () => {
    const slow = new ScriptedBackend(
      [answerReply("Thinking slowly.", "A long answer that takes a while to write out in full.")],
      { chunkSize: 1, chunkDelayMs: 20 },
    );
    const timed = await startServer({ backend: slow, warmup: false, limits: { requestTimeoutMs: 150 } });
    try {
      await timed.context.model.loaded;
      const body = { messages: [{ role: "user", content: "hi" }] };
      const reply = await call(`${timed.url}/v1/chat/completions`, { body });
      expectError(reply, 504, "TIMEOUT");
      expect(timed.context.lanes.model.running).toBe(0);
    } finally {
      await timed.close();
    }
  });

  it("CORS is off unless an origin is configured, and then only for that origin", async () => {
    const preflight = (url: string, origin: string) =>
      fetch(`${url}/v1/locate`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
    const plain = await call(`${server.url}/health`, { headers: { origin: "https://app.example" } });
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
    expect((await preflight(server.url, "https://app.example")).headers.get("access-control-allow-origin")).toBeNull();
    const cors = await startServer({ corsOrigins: ["https://app.example"], ocr: fixedOcr([]) });
    try {
      const allowed = await preflight(cors.url, "https://app.example");
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
      const other = await preflight(cors.url, "https://evil.example");
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      const located = await call(`${cors.url}/v1/locate`, {
        body: { image, query: "x" },
        headers: { origin: "https://app.example" },
      });
      expect(located.headers.get("access-control-expose-headers")).toMatch(/x-request-id/);
    } finally {
      await cors.close();
    }
  });
});
