/**
 * Memory soak (issue 10): ZOOMS zooms of varied sizes through one `squint mcp` (stdio, as an IDE runs it),
 * CONCURRENCY in flight, on four images from 640×480 to 8192×8192 named by path, boxes from 1 % to the whole
 * image. Every zoom adds a derived image to the session's store, so without eviction memory would grow with
 * the calls; the store (--max-store-mb) and the work budget (--max-work-mb) must hold RSS flat instead.
 *
 * Reported: the server's RSS (from /proc) every tenth of the run, its peak, outcomes (ok / BUSY / other typed
 * errors / failures) and the call latency. The baseline is the server's RSS after the first 100 zooms, in the
 * same run: "growth" is the last tenth's RSS over it. Goal: growth near zero, peak within idle + budget.
 *
 *   node --import tsx bench/mcp/soak.ts [--zooms 10000] [--concurrency 4] [--store-mb 512] [--work-mb 384]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { callOutcome, numberFlag, percentile, photo, root, rssMiB } from "./_server.js";

const ZOOMS = numberFlag("zooms", 10_000);
const CONCURRENCY = numberFlag("concurrency", 4);
const STORE_MB = numberFlag("store-mb", 512);
const WORK_MB = numberFlag("work-mb", 384);

const dir = mkdtempSync(path.join(tmpdir(), "squint-mcp-soak-"));
const images = [
  await photo(path.join(dir, "small.jpg"), 640, 480),
  await photo(path.join(dir, "medium.jpg"), 2000, 1500),
  await photo(path.join(dir, "street.jpg"), 4140, 2700),
  await photo(path.join(dir, "huge.jpg"), 8192, 8192),
];

const transport = new StdioClientTransport({
  command: process.execPath,
  args: [
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
  stderr: "inherit",
});
const client = new Client({ name: "soak", version: "0" });
await client.connect(transport);
const pid = transport.pid ?? undefined;

/** Deterministic variety: image i % 4 (the 8192² one a tenth as often), a box of 1 %–100 % of each side. */
function zoomArgs(i: number): Record<string, unknown> {
  const image = i % 10 === 9 ? images[3] : images[i % 3];
  const side = 10 + ((i * 7919) % 991);
  const x = (i * 104729) % (1001 - side);
  const y = (i * 1299709) % (1001 - side);
  return { image, bbox_2d: [x, y, x + side, y + side] };
}

const samples: Array<{ zooms: number; rss: number }> = [{ zooms: 0, rss: rssMiB(pid) }];
const latencies: number[] = [];
const outcomes = { ok: 0, busy: 0, coded: new Map<string, number>(), failed: [] as string[] };
let next = 0;
let done = 0;
let peak = 0;
const started = performance.now();
try {
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < ZOOMS; i = next++) {
        const start = performance.now();
        const outcome = await callOutcome(client, "image_zoom_in_tool", zoomArgs(i));
        latencies.push(performance.now() - start);
        if (outcome.kind === "ok") outcomes.ok++;
        else if (outcome.kind === "coded" && outcome.code === "BUSY") outcomes.busy++;
        else if (outcome.kind === "coded")
          outcomes.coded.set(outcome.code, (outcomes.coded.get(outcome.code) ?? 0) + 1);
        else outcomes.failed.push(outcome.message);
        done++;
        const rss = rssMiB(pid);
        peak = Math.max(peak, rss);
        if (done === 100 || done % Math.max(1, Math.floor(ZOOMS / 10)) === 0) {
          samples.push({ zooms: done, rss });
          // On stderr as it goes: a run cut short still shows how far it got.
          process.stderr.write(`soak: ${done} zooms, server RSS ${rss.toFixed(0)} MiB\n`);
        }
      }
    }),
  );
} finally {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
}
const seconds = (performance.now() - started) / 1000;

console.log(
  `${ZOOMS} zooms, ${CONCURRENCY} in flight, one squint mcp over stdio (--max-store-mb ${STORE_MB}, --max-work-mb ${WORK_MB}), ${seconds.toFixed(0)} s\n`,
);
console.log("| zooms done | server RSS (MiB) |");
console.log("|---|---|");
for (const sample of samples) console.log(`| ${sample.zooms} | ${sample.rss.toFixed(0)} |`);
const baseline = samples.find((sample) => sample.zooms === 100)?.rss ?? Number.NaN;
const last = samples.at(-1)?.rss ?? Number.NaN;
const coded = [...outcomes.coded].map(([code, count]) => `${code} ${count}`).join(", ") || "0";
console.log(
  `\n| ok | BUSY | other typed errors | failed | p50 (ms) | p99 (ms) | RSS after 100 (baseline) | RSS at end | growth | peak | store + work budget |`,
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
console.log(
  `| ${outcomes.ok} | ${outcomes.busy} | ${coded} | ${outcomes.failed.length} | ${percentile(latencies, 50).toFixed(0)} | ${percentile(latencies, 99).toFixed(0)} | ${baseline.toFixed(0)} | ${last.toFixed(0)} | ${(last / baseline).toFixed(2)}× | ${peak.toFixed(0)} | ${STORE_MB + WORK_MB} |`,
);
for (const message of outcomes.failed.slice(0, 5)) console.log(`  failed: ${message}`);
