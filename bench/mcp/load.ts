/**
 * `squint mcp --http` under load, on loopback (issue 10): CLIENTS sessions for SECONDS, each its own MCP
 * client calling image_zoom_in_tool back to back on a 4140×2700 photo. Most clients zoom small boxes (what a
 * model does: a sign, a face); LARGE of them zoom near-full boxes, on that photo and on an 8192² image, at the
 * same time. The server runs in its own process; its RSS is read from /proc every 250 ms.
 *
 * Reported per kind of call: calls, ok, BUSY (the work budget refusing in time, which is allowed), other
 * typed errors and failures (neither allowed), p50/p99/max latency; and the server's RSS before, after
 * warm-up, at its peak and at the end, against the memory budget it was given. The baseline is the same
 * small zoom on the idle server, measured in the same run: the ratio says what the load costs a small call.
 *
 * Goal (issue 10): zero failed calls other than BUSY, p99 of a small zoom under 1 s while large ones run,
 * RSS flat (the peak under the budget plus the idle server).
 *
 * --uv-threads N starts the server with UV_THREADPOOL_SIZE=N (libuv's pool, shared by file reads and sharp;
 * Node reads it only at start, default 4); the README recommends raising it for many clients.
 *
 * The server gets the allocator settings the `squint` command starts it with; --plain-malloc leaves glibc's.
 *
 * Where the CPU went is reported too: the server's threads (by name and niceness; --per-thread lists each) and
 * this process, whose clients share the machine's cores with the server. --server-cpu-prof DIR profiles it.
 *
 *   node --import tsx bench/mcp/load.ts [--seconds 60] [--clients 50] [--large 10] [--uv-threads 16] [--plain-malloc]
 *     [--per-thread] [--server-cpu-prof DIR]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  callOutcome,
  cpuSince,
  numberFlag,
  type Outcome,
  percentile,
  photo,
  rssMiB,
  startHttpServer,
  threadCpu,
} from "./_server.js";

const SECONDS = numberFlag("seconds", 60);
const CLIENTS = numberFlag("clients", 50);
const LARGE = Math.min(numberFlag("large", 10), CLIENTS - 1);
const WORK_MB = 512;
const STORE_MB = 1024;
const UV_THREADS = process.argv.includes("--uv-threads") ? numberFlag("uv-threads", 4) : undefined;

const dir = mkdtempSync(path.join(tmpdir(), "squint-mcp-load-"));
const street = await photo(path.join(dir, "street.jpg"), 4140, 2700);
// JPEG: an 8192² PNG of photo-like content is over the 50 MB input limit.
const huge = await photo(path.join(dir, "huge.jpg"), 8192, 8192);

const server = await startHttpServer(
  [
    "--allow",
    dir,
    "--max-sessions",
    String(CLIENTS + 8),
    "--max-sessions-per-client",
    String(CLIENTS + 8),
    "--max-work-mb",
    String(WORK_MB),
    "--max-store-mb",
    String(STORE_MB),
  ],
  UV_THREADS === undefined ? {} : { UV_THREADPOOL_SIZE: String(UV_THREADS) },
);

async function connect(): Promise<Client> {
  const client = new Client({ name: "load", version: "0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  return client;
}

/** A small box somewhere in the image (2–6 % of each side, in 0–1000 units). */
function smallBox(i: number): number[] {
  const side = 20 + (i % 5) * 10;
  const x = (i * 137) % (1000 - side);
  const y = (i * 311) % (1000 - side);
  return [x, y, x + side, y + side];
}

interface Tally {
  latencies: number[];
  ok: number;
  busy: number;
  coded: Map<string, number>;
  failed: string[];
}
const tally = (): Tally => ({ latencies: [], ok: 0, busy: 0, coded: new Map(), failed: [] });

function record(into: Tally, outcome: Outcome, ms: number): void {
  into.latencies.push(ms);
  if (outcome.kind === "ok") into.ok++;
  else if (outcome.kind === "coded" && outcome.code === "BUSY") into.busy++;
  else if (outcome.kind === "coded") into.coded.set(outcome.code, (into.coded.get(outcome.code) ?? 0) + 1);
  else into.failed.push(outcome.message);
}

async function timed(client: Client, args: Record<string, unknown>): Promise<[Outcome, number]> {
  const start = performance.now();
  const outcome = await callOutcome(client, "image_zoom_in_tool", args);
  return [outcome, performance.now() - start];
}

const cpu: { clientStart?: NodeJS.CpuUsage; client?: NodeJS.CpuUsage; serverThreads?: Map<string, number> } = {};
const rss = { before: rssMiB(server.child.pid), warm: Number.NaN, peak: 0, end: Number.NaN };
try {
  // Baseline: small zooms on the idle server (the image decoded once first, as a session does).
  const idleClient = await connect();
  await timed(idleClient, { image: street, bbox_2d: smallBox(0) });
  const idle = tally();
  for (let i = 1; i <= 20; i++) record(idle, ...(await timed(idleClient, { image: street, bbox_2d: smallBox(i) })));
  await idleClient.close();

  const clients = await Promise.all(Array.from({ length: CLIENTS }, connect));
  const serverStart = threadCpu(server.child.pid);
  cpu.clientStart = process.cpuUsage();
  const small = tally();
  const large = tally();
  const sampler = setInterval(() => {
    rss.peak = Math.max(rss.peak, rssMiB(server.child.pid));
  }, 250);
  const warmUntil = performance.now() + Math.min(5000, (SECONDS * 1000) / 6);
  const stopAt = performance.now() + SECONDS * 1000;
  let warmed = false;
  await Promise.all(
    clients.map(async (client, index) => {
      const isLarge = index < LARGE;
      for (let i = 0; performance.now() < stopAt; i++) {
        if (!warmed && performance.now() > warmUntil) {
          warmed = true;
          rss.warm = rssMiB(server.child.pid);
        }
        const args = isLarge
          ? i % 2 === 0
            ? { image: street, bbox_2d: [10, 10, 990, 990] }
            : { image: huge, bbox_2d: [0, 0, 960, 960 - (i % 7) * 10] }
          : { image: street, bbox_2d: smallBox(index * 1000 + i) };
        record(isLarge ? large : small, ...(await timed(client, args)));
      }
    }),
  );
  clearInterval(sampler);
  rss.end = rssMiB(server.child.pid);
  cpu.serverThreads = cpuSince(serverStart, threadCpu(server.child.pid));
  cpu.client = process.cpuUsage(cpu.clientStart);
  await Promise.all(clients.map((client) => client.close()));

  const row = (name: string, t: Tally) => {
    const coded = [...t.coded].map(([code, count]) => `${code} ${count}`).join(", ") || "0";
    return `| ${name} | ${t.latencies.length} | ${t.ok} | ${t.busy} | ${coded} | ${t.failed.length} | ${percentile(t.latencies, 50).toFixed(0)} | ${percentile(t.latencies, 99).toFixed(0)} | ${Math.max(...t.latencies).toFixed(0)} |`;
  };
  console.log(
    `${CLIENTS} clients (${LARGE} zooming near-full boxes), ${SECONDS} s, loopback, one squint mcp --http process`,
  );
  console.log(
    `(--max-work-mb ${WORK_MB}, --max-store-mb ${STORE_MB}, UV_THREADPOOL_SIZE ${UV_THREADS ?? process.env.UV_THREADPOOL_SIZE ?? "unset (4)"}, ${process.argv.includes("--plain-malloc") ? "glibc malloc defaults" : "MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072"}); CPU: the machine's, shared.\n`,
  );
  console.log("| calls | n | ok | BUSY | other typed errors | failed | p50 (ms) | p99 (ms) | max (ms) |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  console.log(row("small zoom, idle server (baseline)", idle));
  console.log(row("small zoom under load", small));
  console.log(row("near-full zoom (4140×2700, 8192²)", large));
  const smallP99 = percentile(small.latencies, 99);
  console.log(
    `\nsmall-zoom p99 under load / idle p50: ${(smallP99 / percentile(idle.latencies, 50)).toFixed(1)}×; ` +
      `throughput: ${((small.latencies.length + large.latencies.length) / SECONDS).toFixed(1)} calls/s`,
  );
  console.log("\n| server RSS (MiB) | before | after warm-up | peak | end | work + store budget |");
  console.log("|---|---|---|---|---|---|");
  console.log(
    `| | ${rss.before.toFixed(0)} | ${rss.warm.toFixed(0)} | ${rss.peak.toFixed(0)} | ${rss.end.toFixed(0)} | ${WORK_MB + STORE_MB} |`,
  );
  // Where the machine's CPU went during the load (the clients run in this process, on the same cores).
  const client = cpu.client ? (cpu.client.user + cpu.client.system) / 1e6 : Number.NaN;
  console.log(`\n| CPU seconds during the load (${SECONDS} s × ${availableParallelism()} cores) | s |`);
  console.log("|---|---:|");
  for (const [name, seconds] of [...(cpu.serverThreads ?? [])].sort((a, b) => b[1] - a[1]))
    if (seconds >= 0.05)
      console.log(`| server ${name === "all" ? "process, all threads" : `threads ${name}`} | ${seconds.toFixed(1)} |`);
  console.log(`| this process (the ${CLIENTS} clients) | ${client.toFixed(1)} |`);
  const failures = [...small.failed, ...large.failed];
  const otherErrors = [...small.coded.values(), ...large.coded.values()].reduce((a, b) => a + b, 0);
  console.log(
    `\ngoal: failed + other typed errors = ${failures.length + otherErrors} (want 0); small p99 = ${smallP99.toFixed(0)} ms (want < 1000); ` +
      `peak RSS − before = ${(rss.peak - rss.before).toFixed(0)} MiB (want < ${WORK_MB + STORE_MB})`,
  );
  for (const message of failures.slice(0, 5)) console.log(`  failed: ${message}`);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
