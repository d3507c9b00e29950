/**
 * A grounding client for `squint serve`, with nothing but fetch: upload a screenshot once, then ask where
 * things are. Boxes come back in the pixels of the image you sent.
 *
 *   squint serve &                                   # OCR only; add --model ID for any target
 *   node --import tsx examples/grounding-client.ts screenshot.png "Sign in" "the search box"
 *
 * Environment: SQUINT_SERVE_URL (default http://127.0.0.1:8091), SQUINT_SERVE_TOKEN (when the server has one).
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";

const base = (process.env.SQUINT_SERVE_URL ?? "http://127.0.0.1:8091").replace(/\/+$/, "");
const token = process.env.SQUINT_SERVE_TOKEN;

interface ApiError {
  error: { code: string; message: string; hint?: string };
}

async function api<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json()) as T | ApiError;
  if (!response.ok) {
    const { error } = json as ApiError;
    const retry = response.headers.get("retry-after");
    throw new Error(
      `${error.code}: ${error.message}${error.hint ? ` (${error.hint})` : ""}${retry ? ` [retry after ${retry} s]` : ""} ` +
        `[request ${response.headers.get("x-request-id")}]`,
    );
  }
  return json as T;
}

interface Upload {
  id: string;
  width: number;
  height: number;
}
interface Located {
  results: Array<{
    query: string;
    found: boolean;
    note?: string;
    detections: Array<{ box: number[] | null; point: number[]; score: number | null; method: string; text?: string }>;
  }>;
  timing_ms: { total: number };
}

async function main(): Promise<void> {
  const [file, ...queries] = process.argv.slice(2);
  if (!file || queries.length === 0) {
    console.error('usage: grounding-client.ts <image> "<what to find>" ["<more>" ...]');
    process.exit(2);
  }
  const mime = extname(file).toLowerCase() === ".png" ? "image/png" : "image/jpeg";
  const dataUrl = `data:${mime};base64,${(await readFile(file)).toString("base64")}`;

  // Once: the server keeps the decoded image and names it by an id (it expires after a while unused).
  const upload = await api<Upload>("/v1/images", { image: dataUrl });
  console.log(`uploaded ${file}: ${upload.width}×${upload.height} as ${upload.id}`);

  const located = await api<Located>("/v1/locate", { image: upload.id, query: queries, all: false });
  for (const result of located.results) {
    const best = result.detections[0];
    if (!result.found || !best) {
      console.log(`"${result.query}": not found${result.note ? ` — ${result.note}` : ""}`);
      continue;
    }
    const where = best.box ? `box [${best.box.join(", ")}]` : "point";
    console.log(`"${result.query}": ${where}, click at (${best.point.join(", ")}) via ${best.method}`);
  }
  console.log(`(${located.timing_ms.total} ms on the server)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
