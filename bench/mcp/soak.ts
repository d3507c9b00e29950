/**
 * Memory soak (issue 10): ZOOMS zooms of varied sizes through one `squint mcp` (stdio, as an IDE runs it),
 * CONCURRENCY in flight, on four images from 640×480 to 8192×8192 named by path, boxes from 1 % to the whole
 * image. Every zoom adds a derived image to the session's store, so without eviction memory would grow with
 * the calls; the store (--max-store-mb) and the work budget (--max-work-mb) must hold RSS flat instead.
 *
 * Reported: the server's RSS (from /proc) every tenth of the run and every 15 s, its peak, and per image size
 * the outcomes (ok / BUSY / other typed errors / failures) and call latency. The baseline is the server's RSS
 * after the first 100 zooms, in the same run: "growth" is the last sample's RSS over it. Goal: growth near
 * zero, peak within idle + budget. --max-minutes stops early (the table says how many zooms were done).
 *
 *   node --import tsx bench/mcp/soak.ts [--zooms 10000] [--concurrency 4] [--store-mb 512] [--work-mb 384]
 *     [--max-minutes 3] [--plain-malloc]
 *
 * The server gets the allocator settings the `squint` command starts it with (MALLOC_ARENA_MAX, ...);
 * --plain-malloc leaves glibc's defaults, for comparison.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { callOutcome, numberFlag, percentile, photo, root, rssMiB, serverEnv, serverNodeFlags } from "./_server.js";

const ZOOMS = numberFlag("zooms", 10_000);
const CONCURRENCY = numberFlag("concurrency", 4);
const STORE_MB = numberFlag("store-mb", 512);
const WORK_MB = numberFlag("work-mb", 384);
const MAX_MS = numberFlag("max-minutes", 60) * 60_000;

const dir = mkdtempSync(path.join(tmpdir(), "squint-mcp-soak-"));
const sizes = ["640×480", "2000×1500", "4140×2700", "8192×8192"];
const images = [
  await photo(path.join(dir, "small.jpg"), 640, 480),
  await photo(path.join(dir, "medium.jpg"), 2000, 1500),
  await photo(path.join(dir, "street.jpg"), 4140, 2700),
  await photo(path.join(dir, "huge.jpg"), 8192, 8192),
];

const transport = new StdioClientTransport({
  command: process.execPath,
  args: [
    ...serverNodeFlags(),
    "--import",
    "tsx",
    path.join(root, "src/cli/main.ts"),
    "mcp",
    "--allow",
    dir,
    "--max-store-mb",
    String(STORE_MB),
    "--max-work-mb",
    String(WORK_MB),
  ],
  cwd: root,
  // The SDK passes only a safe subset of the environment; the allocator, libuv and Squint's own settings go on.
  env: {
    ...getDefaultEnvironment(),
    ...serverEnv(),
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] =>
          /^(MALLOC_|UV_THREADPOOL_SIZE$|SQUINT_)/.test(entry[0]) && entry[1] !== undefined,
      ),
    ),
  },
  stderr: "inherit",
});
const client = new Client({ name: "soak", version: "0" });
await client.connect(transport);
const pid = transport.pid ?? undefined;

/** Deterministic variety: image i % 3 (the 8192² one a tenth of the time), a box of 1 %–100 % of each side. */
function imageIndex(i: number): number {
  return i % 10 === 9 ? 3 : i % 3;
}

function zoomArgs(i: number): Record<string, unknown> {
  const side = 10 + ((i * 7919) % 991);
  const x = (i * 104729) % (1001 - side);
  const y = (i * 1299709) % (1001 - side);
  return { image: images[imageIndex(i)], bbox_2d: [x, y, x + side, y + side] };
}

interface Outcomes {
  latencies: number[];
  ok: number;
  busy: number;
  coded: Map<string, number>;
  failed: string[];
}
const perSize: Outcomes[] = sizes.map(() => ({ latencies: [], ok: 0, busy: 0, coded: new Map(), failed: [] }));
const samples: Array<{ zooms: number; seconds: number; rss: number }> = [{ zooms: 0, seconds: 0, rss: rssMiB(pid) }];
let next = 0;
let done = 0;
let peak = 0;
const started = performance.now();
const stopAt = started + MAX_MS;
let nextTimedSample = started + 15_000;
const sample = (rss: number) => {
  samples.push({ zooms: done, seconds: (performance.now() - started) / 1000, rss });
  // On stderr as it goes: a run cut short still shows how far it got.
  process.stderr.write(`soak: ${done} zooms, server RSS ${rss.toFixed(0)} MiB\n`);
};
try {
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < ZOOMS && performance.now() < stopAt; i = next++) {
        const start = performance.now();
        const outcome = await callOutcome(client, "image_zoom_in_tool", zoomArgs(i));
        const into = perSize[imageIndex(i)] as Outcomes;
        into.latencies.push(performance.now() - start);
        if (outcome.kind === "ok") into.ok++;
        else if (outcome.kind === "coded" && outcome.code === "BUSY") into.busy++;
        else if (outcome.kind === "coded") into.coded.set(outcome.code, (into.coded.get(outcome.code) ?? 0) + 1);
        else into.failed.push(outcome.message);
        done++;
        const rss = rssMiB(pid);
        peak = Math.max(peak, rss);
        if (done === 100 || done % Math.max(1, Math.floor(ZOOMS / 10)) === 0) sample(rss);
        else if (performance.now() > nextTimedSample) {
          nextTimedSample += 15_000;
          sample(rss);
        }
      }
    }),
  );
  sample(rssMiB(pid));
} finally {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
}
const seconds = (performance.now() - started) / 1000;

console.log(
  `${done} of ${ZOOMS} zooms, ${CONCURRENCY} in flight, one squint mcp over stdio (--max-store-mb ${STORE_MB}, --max-work-mb ${WORK_MB}, ${process.argv.includes("--plain-malloc") ? "glibc malloc defaults" : "MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072"}), ${seconds.toFixed(0)} s\n`,
);
console.log("| zooms done | seconds | server RSS (MiB) |");
console.log("|---|---|---|");
for (const sample of samples)
  console.log(`| ${sample.zooms} | ${sample.seconds.toFixed(0)} | ${sample.rss.toFixed(0)} |`);
console.log("\n| image | zooms | ok | BUSY | other typed errors | failed | p50 (ms) | p99 (ms) |");
console.log("|---|---|---|---|---|---|---|---|");
for (const [index, size] of sizes.entries()) {
  const t = perSize[index] as Outcomes;
  const coded = [...t.coded].map(([code, count]) => `${code} ${count}`).join(", ") || "0";
  console.log(
    `| ${size} | ${t.latencies.length} | ${t.ok} | ${t.busy} | ${coded} | ${t.failed.length} | ${percentile(t.latencies, 50).toFixed(0)} | ${percentile(t.latencies, 99).toFixed(0)} |`,
  );
}
const baseline = samples.find((sample) => sample.zooms >= 100)?.rss ?? Number.NaN;
const last = samples.at(-1)?.rss ?? Number.NaN;
console.log("\n| RSS at start | RSS after 100 (baseline) | RSS at end | growth | peak | store + work budget |");
console.log("|---|---|---|---|---|---|");
console.log(
  `| ${samples[0]?.rss.toFixed(0)} | ${baseline.toFixed(0)} | ${last.toFixed(0)} | ${(last / baseline).toFixed(2)}× | ${peak.toFixed(0)} | ${STORE_MB + WORK_MB} |`,
);
for (const message of perSize.flatMap((t) => t.failed).slice(0, 5)) console.log(`  failed: ${message}`);
