/**
 * Zoom cost: the zoom tool through the image store vs. a bare sharp pipeline doing the same crop and bicubic
 * resize from the same decoded raw pixels (the floor for any sharp-based zoom), and the added cost of calling
 * the tool through the MCP SDK's in-memory client and server (linked result, as the in-process agent gets it;
 * inline PNG, as an IDE host gets it). Input: a 12 MP JPEG generated here.
 *
 *   node --import tsx bench/tools/zoom.ts        (or: npm run bench tools/zoom)
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import sharp from "sharp";
import { createSquintServer } from "../../src/mcp/server.js";
import { smartResize } from "../../src/model/vision.js";
import { createToolContext } from "../../src/tools/context.js";
import { parseBox, pixelRect } from "../../src/tools/geometry.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { ZOOM_RESIZE, zoomTool } from "../../src/tools/zoom.js";

const WIDTH = 4000;
const HEIGHT = 3000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

// The whole-image case resizes 12 MP per call (about a second): fewer rounds keep the bench under a minute.
const cases: { name: string; box: [number, number, number, number]; rounds: number }[] = [
  { name: "small box (upscaled to 256·32² px)", box: [500, 500, 530, 540], rounds: ROUNDS },
  { name: "medium box (800×600 px)", box: [400, 300, 600, 500], rounds: ROUNDS },
  { name: "whole image (12 MP out)", box: [0, 0, 1000, 1000], rounds: Math.max(3, Math.ceil(ROUNDS / 3)) },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Cost {
  wall: number;
  /** Process CPU time (user + system, all threads, sharp's included): steadier than wall time on a shared machine. */
  cpu: number;
}

async function time(fn: () => Promise<unknown>): Promise<Cost> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

const jpeg = await sharp({
  create: {
    width: WIDTH,
    height: HEIGHT,
    channels: 3,
    background: "#808080",
    noise: { type: "gaussian", mean: 128, sigma: 40 },
  },
})
  .jpeg({ quality: 90 })
  .toBuffer();

const store = new ImageStore();
const decodeStart = performance.now();
const original = await store.ingest(jpeg, { source: "bench 12 MP JPEG" });
const decodeMs = performance.now() - decodeStart;
const raw = store.pixels(original.id);
const context = createToolContext({ store });

async function bare(box: [number, number, number, number]): Promise<void> {
  const rect = pixelRect(parseBox(box, "rel1000", original), original);
  const size = smartResize(rect.height, rect.width, ZOOM_RESIZE);
  await sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })
    .extract(rect)
    .resize(size.width, size.height, { kernel: "cubic", fit: "fill" })
    .raw()
    .toBuffer();
}

async function viaStore(box: [number, number, number, number]): Promise<void> {
  await zoomTool.run({ bbox_2d: box, image: original.id }, context, {});
}

async function mcpClient(inlineImages: boolean): Promise<Client> {
  const server = createSquintServer({
    tools: [zoomTool],
    store,
    policy: defaultSourcePolicy(),
    inlineImages,
    useClientRoots: false,
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "bench", version: "0" });
  await client.connect(clientSide);
  return client;
}

const linked = await mcpClient(false);
const inline = await mcpClient(true);

async function viaMcp(client: Client, box: [number, number, number, number]): Promise<void> {
  const result = await client.callTool({ name: zoomTool.name, arguments: { bbox_2d: box, image: original.id } });
  if (result.isError) throw new Error(JSON.stringify(result.content));
}

const rows: string[] = [];
for (const c of cases) {
  const t = { bare: [] as Cost[], store: [] as Cost[], linked: [] as Cost[], inline: [] as Cost[] };
  // One warm-up of each, then interleaved rounds so drift from other load hits all four alike.
  await bare(c.box);
  await viaStore(c.box);
  await viaMcp(linked, c.box);
  await viaMcp(inline, c.box);
  for (let i = 0; i < c.rounds; i++) {
    t.bare.push(await time(() => bare(c.box)));
    t.store.push(await time(() => viaStore(c.box)));
    t.linked.push(await time(() => viaMcp(linked, c.box)));
    t.inline.push(await time(() => viaMcp(inline, c.box)));
  }
  const m = (costs: Cost[], key: keyof Cost) => median(costs.map((cost) => cost[key]));
  const f = (value: number) => value.toFixed(1);
  rows.push(
    `| ${c.name} (${c.rounds} rounds) | ${f(m(t.bare, "cpu"))} / ${f(m(t.bare, "wall"))} | ${f(m(t.store, "cpu"))} / ${f(m(t.store, "wall"))} | ` +
      `${(m(t.store, "cpu") / m(t.bare, "cpu")).toFixed(2)} / ${(m(t.store, "wall") / m(t.bare, "wall")).toFixed(2)} | ` +
      `${f(m(t.linked, "cpu") - m(t.store, "cpu"))} / ${f(m(t.linked, "wall") - m(t.store, "wall"))} | ` +
      `${f(m(t.inline, "cpu") - m(t.store, "cpu"))} / ${f(m(t.inline, "wall") - m(t.store, "wall"))} |`,
  );
}

await linked.close();
await inline.close();

console.log(
  `12 MP JPEG (${WIDTH}×${HEIGHT}, ${(jpeg.byteLength / 1e6).toFixed(1)} MB) decoded once into the store in ${decodeMs.toFixed(0)} ms. ` +
    "Medians, CPU ms / wall ms; ratio = store zoom / bare sharp; MCP added = through the in-memory MCP client and server, minus the direct call.\n",
);
console.log("| zoom | bare sharp | store zoom | ratio | MCP added (linked result) | MCP added (inline PNG) |");
console.log("|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
