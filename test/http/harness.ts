import { spawn } from "node:child_process";
import sharp from "sharp";
import { expect } from "vitest";
import type { OcrFunction } from "../../src/tools/context.js";
import type { OcrLine } from "../../src/tools/ocr/types.js";
import { serve, type ServeHandle, type ServeOptions } from "../../src/http/server.js";
import { repoRoot, squintArgv } from "../support/cli.js";

/** Starts `squint serve` on a free loopback port. */
export async function startServer(options: ServeOptions = {}): Promise<ServeHandle> {
  return serve({ host: "127.0.0.1", port: 0, ...options });
}

export async function pngDataUrl(width: number, height: number, color = "#3366cc"): Promise<string> {
  const png = await sharp({ create: { width, height, channels: 3, background: color } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString("base64")}`;
}

/**
 * An OCR function that "reads" fixed lines, in pixels of whatever image it is given: tests of the HTTP layer
 * need a fast, known answer, not PP-OCR (test/tools/ocr covers that).
 */
export function fixedOcr(lines: Array<{ text: string; box: [number, number, number, number] }>): OcrFunction {
  return async (image) => ({
    width: image.width,
    height: image.height,
    lines: lines.map(({ text, box }): OcrLine => {
      const [x1, y1, x2, y2] = box;
      const rel = [x1 / image.width, y1 / image.height, x2 / image.width, y2 / image.height].map((v) =>
        Math.round(v * 1000),
      ) as [number, number, number, number];
      return {
        text,
        confidence: 0.9,
        box: { x1, y1, x2, y2 },
        boxRel1000: rel,
        words: [{ text, confidence: 0.9, box: { x1, y1, x2, y2 }, boxRel1000: rel }],
        engine: "ppocr",
      };
    }),
  });
}

export interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export async function call(
  url: string,
  init: { method?: string; body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.raw !== undefined) body = init.raw;
  else if (init.body !== undefined) body = JSON.stringify(init.body);
  if (body !== undefined) headers["content-type"] ??= "application/json";
  const response = await fetch(url, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics, SSE)
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** The error shape every route promises, and no stack trace. */
export function expectError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, body: reply.body }).toMatchObject({ status, body: { error: { code } } });
  const error = (reply.body as { error: Record<string, unknown> }).error;
  expect(typeof error.message).toBe("string");
  expect(reply.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  expect(reply.headers.get("x-request-id")).toBeTruthy();
}

export interface SpawnedServe {
  url: string;
  stderr: () => string;
  stop(): Promise<number | null>;
}

/** Runs `squint serve ...args --port 0` from source and waits for its "listening on" line. */
export async function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<SpawnedServe> {
  const argv = squintArgv(["serve", "--port", "0", ...args]);
  const child = spawn(argv.command, argv.args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: "pipe" });
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`squint serve exited (${code}) before listening:\n${stderr}`)));
  });
  return {
    url,
    stderr: () => stderr,
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
