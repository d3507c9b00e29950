/**
 * `squint serve` under load, on loopback: 50 concurrent clients for 60 s (BENCH_HTTP_SECONDS to shorten),
 * once on POST /v1/locate without a model (OCR; the screenshot uploaded once, as a client of the grounding
 * API does) and once on POST /v1/chat/completions with the tiny random model on the in-process engine. The
 * server runs in its own process; autocannon drives it from this one. Reported: requests/s, p50/p99 latency,
 * status counts (429 is the admission queue doing its job; anything else non-2xx, or a socket error, counts
 * as an error), and the server's memory after a 15 s warm-up (BENCH_HTTP_WARMUP_SECONDS), through the run and at the end — both as
 * /metrics reports it and after a full GC in the server (asked over IPC; `_server.ts` runs with --expose-gc).
 * BENCH_HTTP_ONLY=locate|chat runs one load scenario and skips the overhead rows.
 *
 * Then the server's own overhead: the same work called in-process and over HTTP, one request at a time,
 * alternating (so both see the same machine), on a server in this process: overhead = HTTP − in-process
 * (medians). The baseline is the in-process call, measured in the same run.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { serve } from "../../src/http/server.js";
import { createBackend } from "../../src/runtime/create-backend.js";
import { createToolContext } from "../../src/tools/context.js";
import { locateTool } from "../../src/tools/locate.js";
import { closeDefaultOcrEngine } from "../../src/tools/ocr/ocr-tool.js";
import { tinyServeModel } from "../../test/http/tiny-model.js";

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const root = fileURLToPath(new URL("../../", import.meta.url));
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 60);
/**
 * Load before the "warm" memory reading. RSS settles only once every path has run many times (V8's heap
 * sizing, malloc's arenas); 15 s of the same load is where the tiny model's server had levelled off.
 */
const WARMUP_SECONDS = Number(process.env.BENCH_HTTP_WARMUP_SECONDS ?? 15);
const CONNECTIONS = 50;
const screenshot = readFileSync(path.join(root, "../shared/data/gui/midscene-todomvc.png"));
const screenshotUrl = `data:image/png;base64,${screenshot.toString("base64")}`;

interface Child {
  url: string;
  /** RSS and heap in use after a full GC in the server (MiB). */
  memoryAfterGc: () => Promise<Memory>;
  stop: () => Promise<void>;
}

async function startChild(scenario: "ocr" | "tiny"): Promise<Child> {
  const child = spawn(
    process.execPath,
    ["--expose-gc", "--import", "tsx", path.join(root, "bench/http/_server.ts"), scenario],
    { cwd: root, stdio: ["ignore", "pipe", "inherit", "ipc"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const line = /^(http:\/\/\S+)\n/.exec(out);
      if (line) resolve(line[1]!);
    });
    child.once("exit", (code) => reject(new Error(`server exited (${code})`)));
  });
  return {
    url,
    memoryAfterGc: () =>
      new Promise<Memory>((resolve) => {
        child.once("message", (message) => {
          const bytes = message as Required<Memory>;
          const mib = (value: number) => value / 1024 / 1024;
          resolve({
            rss: mib(bytes.rss),
            heapUsed: mib(bytes.heapUsed),
            heapTotal: mib(bytes.heapTotal),
            external: mib(bytes.external),
            mallocHeap: mib(bytes.mallocHeap ?? 0),
          });
        });
        child.send("memory");
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

async function json(url: string, body?: unknown): Promise<unknown> {
  const response = await request(url, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

interface Memory {
  rss: number;
  heapUsed: number;
  /** After a GC only: V8's committed heap, and memory outside it that JS objects hold (buffers). */
  heapTotal?: number;
  external?: number;
  /** After a GC only: glibc's main malloc arena (`[heap]`), resident (_server.ts). */
  mallocHeap?: number;
}

/** The server's RSS and V8 heap in use (MiB), from its own /metrics. */
async function memoryMiB(url: string): Promise<Memory> {
  const response = await request(`${url}/metrics`);
  const text = await response.body.text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1]) / 1024 / 1024;
  return { rss: read("process_resident_memory_bytes"), heapUsed: read("nodejs_heap_size_used_bytes") };
}

interface LoadRow {
  route: string;
  seconds: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  queueFull: number;
  errors: number;
  rssWarm: number;
  rssEnd: number;
  heapWarm: number;
  heapEnd: number;
  warmGc: Memory;
  endGc: Memory;
  /** RSS every tenth of the run, then at the end. */
  rssSeries: number[];
}

async function load(
  scenario: "ocr" | "tiny",
  route: string,
  body: (url: string) => Promise<unknown>,
): Promise<LoadRow> {
  const server = await startChild(scenario);
  try {
    const payload = JSON.stringify(await body(server.url));
    const options = {
      url: `${server.url}${route}`,
      connections: CONNECTIONS,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: payload,
      timeout: 60,
    };
    await autocannon({ ...options, duration: WARMUP_SECONDS });
    const warm = await memoryMiB(server.url);
    const warmGc = await server.memoryAfterGc();
    // Memory every tenth of the run: a leak climbs all the way, a heap settling in levels off.
    const samples: Memory[] = [];
    const sampler = setInterval(
      () => void memoryMiB(server.url).then((memory) => samples.push(memory)),
      (SECONDS * 1000) / 10,
    );
    const result = await autocannon({ ...options, duration: SECONDS });
    clearInterval(sampler);
    const end = await memoryMiB(server.url);
    const endGc = await server.memoryAfterGc();
    const count = (status: string) => result.statusCodeStats[status]?.count ?? 0;
    const queueFull = count("429");
    return {
      route,
      seconds: SECONDS,
      requests: result.requests.total,
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      ok: count("200"),
      queueFull,
      errors: result.errors + result.timeouts + (result.non2xx - queueFull),
      rssWarm: warm.rss,
      rssEnd: end.rss,
      heapWarm: warm.heapUsed,
      heapEnd: end.heapUsed,
      warmGc,
      endGc,
      rssSeries: [...samples.map((memory) => memory.rss), end.rss],
    };
  } finally {
    await server.stop();
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** The same work in-process and over HTTP, alternating, one at a time. */
interface OverheadRow {
  name: string;
  inProcess: number;
  http: number;
  overhead: number;
  cpuInProcess: number;
  cpuHttp: number;
  cpuOverhead: number;
}

/**
 * Wall time (medians) and CPU time (means, process.cpuUsage: the client's share included, so an upper bound
 * on the server's) per call. On a machine shared with other work, wall time waits for a core; CPU time does not.
 */
async function overhead(
  name: string,
  rounds: number,
  inProcess: () => Promise<unknown>,
  overHttp: () => Promise<unknown>,
): Promise<OverheadRow> {
  for (let i = 0; i < 20; i++) {
    await inProcess();
    await overHttp();
  }
  const direct: number[] = [];
  const viaHttp: number[] = [];
  let cpuDirect = 0;
  let cpuHttp = 0;
  const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;
  for (let i = 0; i < rounds; i++) {
    let cpu = process.cpuUsage();
    let start = performance.now();
    await inProcess();
    direct.push(performance.now() - start);
    cpuDirect += cpuMs(process.cpuUsage(cpu));
    cpu = process.cpuUsage();
    start = performance.now();
    await overHttp();
    viaHttp.push(performance.now() - start);
    cpuHttp += cpuMs(process.cpuUsage(cpu));
  }
  const inMs = median(direct);
  const httpMs = median(viaHttp);
  return {
    name,
    inProcess: inMs,
    http: httpMs,
    overhead: httpMs - inMs,
    cpuInProcess: cpuDirect / rounds,
    cpuHttp: cpuHttp / rounds,
    cpuOverhead: (cpuHttp - cpuDirect) / rounds,
  };
}

async function overheadRows() {
  const rows = [];
  // Locate (OCR): the tool on the stored screenshot vs POST /v1/locate naming the upload; OCR is read once
  // (the tool caches a screenshot's OCR), so both measure the same matching work.
  {
    const handle = await serve({ port: 0 });
    try {
      const upload = (await json(`${handle.url}/v1/images`, { image: screenshotUrl })) as { id: string };
      const image = handle.context.uploads.get(upload.id);
      const context = createToolContext({ store: handle.context.store, ocr: handle.context.ocr() });
      const input = locateTool.inputSchema.parse({ query: "Completed", image: image.id, mode: "ocr" });
      rows.push(
        await overhead(
          "/v1/locate (OCR, uploaded image)",
          300,
          () => locateTool.run(input, context, {}),
          () => json(`${handle.url}/v1/locate`, { image: upload.id, query: "Completed" }),
        ),
      );
    } finally {
      await handle.close();
    }
  }
  // Chat: the backend's generate (greedy, 1 token) vs the same as a non-streaming chat completion.
  {
    const backend = await createBackend({ model: (await tinyServeModel()).modelDir });
    const handle = await serve({ port: 0, backend, warmup: true });
    await handle.context.model.loaded;
    try {
      const messages = [{ role: "user" as const, content: "Hello" }];
      rows.push(
        await overhead(
          "/v1/chat/completions (tiny model, 1 token)",
          200,
          async () => {
            for await (const event of backend.generate({
              messages,
              maxOutputTokens: 1,
              sampling: { doSample: false },
              resolveImage: async () => {
                throw new Error("no images");
              },
            })) {
              void event;
            }
          },
          () => json(`${handle.url}/v1/chat/completions`, { model: "x", messages, max_tokens: 1, temperature: 0 }),
        ),
      );
    } finally {
      await handle.close();
      await backend.close();
    }
  }
  return rows;
}

const fmt = (value: number, digits = 1) => value.toFixed(digits);

/** BENCH_HTTP_ONLY=locate|chat runs one load scenario (and skips the overhead rows). */
const only = process.env.BENCH_HTTP_ONLY;
const loadRows = [];
if (only === undefined || only === "locate") {
  loadRows.push(
    await load("ocr", "/v1/locate", async (url) => {
      const upload = (await json(`${url}/v1/images`, { image: screenshotUrl })) as { id: string };
      const body = { image: upload.id, query: ["Completed", "What needs to be done?"] };
      // The first locate loads PP-OCR and reads the screenshot (seconds); the load measures what follows.
      await json(`${url}/v1/locate`, body);
      return body;
    }),
  );
}
if (only === undefined || only === "chat") {
  loadRows.push(
    await load("tiny", "/v1/chat/completions", async () => ({
      model: "tiny",
      messages: [{ role: "user", content: "Describe a cat." }],
      max_tokens: 8,
      temperature: 0,
    })),
  );
}

console.log(`\n${CONNECTIONS} connections × ${SECONDS} s on 127.0.0.1 (server in its own process):\n`);
console.log(
  "| route | req/s | p50 ms | p99 ms | 200 | 429 (queue full) | errors | RSS after warm-up MiB | RSS at end MiB | RSS change | heap used warm → end MiB |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const row of loadRows) {
  const change = ((row.rssEnd - row.rssWarm) / row.rssWarm) * 100;
  console.log(
    `| ${row.route} | ${fmt(row.rps)} | ${row.p50} | ${row.p99} | ${row.ok} | ${row.queueFull} | ${row.errors} | ${fmt(row.rssWarm)} | ${fmt(row.rssEnd)} | ${change >= 0 ? "+" : ""}${fmt(change)} % | ${fmt(row.heapWarm)} → ${fmt(row.heapEnd)} |`,
  );
}
console.log(
  "\nAfter a full GC in the server (what it still holds; a leak grows here, uncollected garbage does not):\n",
);
console.log(
  "| route | RSS warm MiB | RSS end MiB | RSS change | heap used warm MiB | heap used end MiB | heap change | V8 heap committed warm → end MiB | external warm → end MiB | malloc [heap] warm → end MiB |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
const pct = (from: number, to: number) => `${to >= from ? "+" : ""}${fmt(((to - from) / from) * 100)} %`;
for (const row of loadRows) {
  const { warmGc: w, endGc: e } = row;
  console.log(
    `| ${row.route} | ${fmt(w.rss)} | ${fmt(e.rss)} | ${pct(w.rss, e.rss)} | ${fmt(w.heapUsed)} | ${fmt(e.heapUsed)} | ${pct(w.heapUsed, e.heapUsed)} | ${fmt(w.heapTotal ?? 0)} → ${fmt(e.heapTotal ?? 0)} | ${fmt(w.external ?? 0)} → ${fmt(e.external ?? 0)} | ${fmt(w.mallocHeap ?? 0)} → ${fmt(e.mallocHeap ?? 0)} |`,
  );
}
for (const row of loadRows) {
  console.log(
    `\nRSS through the run, ${row.route} (MiB, every ${SECONDS / 10} s): ${row.rssSeries.map((v) => fmt(v, 0)).join(" ")}`,
  );
}

const overheads = only === undefined ? await overheadRows() : [];
console.log("\nServer overhead per request (medians, one request at a time, alternating with the in-process call):\n");
console.log(
  "| work | wall: in-process ms (baseline) | wall: over HTTP ms | wall overhead ms | CPU: in-process ms | CPU: over HTTP ms | CPU overhead ms |",
);
console.log("|---|---|---|---|---|---|---|");
for (const row of overheads) {
  console.log(
    `| ${row.name} | ${fmt(row.inProcess, 3)} | ${fmt(row.http, 3)} | ${fmt(row.overhead, 3)} | ${fmt(row.cpuInProcess, 3)} | ${fmt(row.cpuHttp, 3)} | ${fmt(row.cpuOverhead, 3)} |`,
  );
}
await closeDefaultOcrEngine();
// Flat means: what the server holds after a GC grows by at most 10 % (RSS before a GC also counts garbage V8
// has not collected yet, which the first table shows). A fall is not a leak: the warm reading comes straight
// after the warm-up burst, and the server hands some of that memory back during the run.
const bad = loadRows.filter((row) => row.errors > 0 || (row.endGc.rss - row.warmGc.rss) / row.warmGc.rss > 0.1);
const slow = overheads.filter((row) => row.cpuOverhead >= 2);
if (bad.length > 0 || slow.length > 0) {
  console.log(`\nOver target: ${[...bad.map((row) => row.route), ...slow.map((row) => row.name)].join(", ")}`);
}
