/**
 * Framework time per agent step, model time excluded: the real machine, in-process MCP server and zoom tool,
 * driven by the scripted backend, each step zooming into a region that becomes a ~1 MP crop. The zoom's own
 * work (crop + bicubic resize, measured by calling the tool directly on the same region, in this run) is the
 * baseline; what is left after the model and the zoom itself is ours: the machine, budgets, MCP round trip,
 * image index, events and trace. Target: under 5 ms per step.
 */
import sharp from "sharp";
import { createAgent } from "../../src/agent/agent.js";
import { stepCountIs } from "../../src/agent/stop-conditions.js";
import { connectInProcess } from "../../src/mcp/client/connection.js";
import { McpToolset } from "../../src/mcp/client/toolset.js";
import { createSquintServer } from "../../src/mcp/server.js";
import { createToolContext } from "../../src/tools/context.js";
import { imageInfoTool } from "../../src/tools/image-info.js";
import { imageUri } from "../../src/tools/sources/reference.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import { zoomTool } from "../../src/tools/zoom.js";
import { answerReply, ScriptedBackend, type ScriptEntry, toolCallReply } from "../../test/support/scripted-backend.js";

const STEPS = 12;
const WIDTH = 4000;
const HEIGHT = 3000;
/** 1000×999 px of the 4000×3000 image: a 1 MP crop, which the zoom keeps at that size (within its limits). */
const BOX = [0, 0, 250, 333];

async function photo(): Promise<Uint8Array> {
  return sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: { r: 90, g: 120, b: 150 } } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

function script(tool: "zoom" | "info" = "zoom"): ScriptEntry[] {
  const steps: ScriptEntry[] = [];
  for (let i = 0; i < STEPS; i++) {
    // Always zoom into the user image: every step makes a fresh 1 MP crop.
    steps.push(
      tool === "zoom"
        ? toolCallReply("Look again.", "image_zoom_in_tool", { bbox_2d: BOX, label: `look ${i}`, img_idx: 0 })
        : toolCallReply("Check.", "image_info", { img_idx: 0 }),
    );
  }
  steps.push(answerReply("Done.", "Nothing there."));
  return steps;
}

async function zoomDirect(bytes: Uint8Array): Promise<number> {
  const store = new ImageStore();
  const image = await store.ingest(bytes);
  const context = createToolContext({ store });
  const times: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const started = performance.now();
    await zoomTool.run({ bbox_2d: BOX, label: "x", image: image.id }, context, {});
    times.push(performance.now() - started);
  }
  return median(times);
}

/**
 * The MCP round trip on its own: the same cheap tool (image_info) called through the in-process server and
 * directly, alternately, so that load on the machine hits both alike; the median of the paired differences.
 */
async function mcpRoundTrip(bytes: Uint8Array): Promise<{ overhead: number; direct: number }> {
  const store = new ImageStore();
  const image = await store.ingest(bytes);
  const context = createToolContext({ store });
  const connection = connectInProcess("squint", () =>
    createSquintServer({
      tools: [imageInfoTool],
      store,
      policy: defaultSourcePolicy(),
      useClientRoots: false,
      inlineImages: false,
    }),
  );
  const toolset = await McpToolset.open([{ connection }], store);
  const differences: number[] = [];
  const directs: number[] = [];
  try {
    for (let i = 0; i < 60; i++) {
      let started = performance.now();
      await imageInfoTool.run({ image: image.id }, context, {});
      const direct = performance.now() - started;
      started = performance.now();
      const result = await toolset.call("image_info", { image: imageUri(image.id) }, { timeoutMs: 10_000 });
      const viaMcp = performance.now() - started;
      if (!result.ok) throw new Error(result.text);
      if (i >= 10) {
        differences.push(viaMcp - direct);
        directs.push(direct);
      }
    }
  } finally {
    await toolset.close();
  }
  return { overhead: median(differences), direct: median(directs) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function agentRun(bytes: Uint8Array, tool: "zoom" | "info" = "zoom") {
  const backend = new ScriptedBackend(script(tool), { resolveImages: false, chunkSize: 64 });
  const agent = await createAgent({ model: backend, stopWhen: stepCountIs(STEPS + 2) });
  try {
    const result = await agent.run({ images: [bytes], prompt: "Anything in the corner?" }).result;
    if (result.status !== "answered") throw new Error(`run ended ${result.status}: ${result.error?.message}`);
    // One step = from its start to the next step's start: model turn, tool calls, observing, budget checks.
    const steps = result.steps.slice(0, -1).map((step, i) => {
      const duration = result.steps[i + 1].startedAt - step.startedAt;
      return { duration, model: step.modelMs, tool: step.toolMs, own: duration - step.modelMs - step.toolMs };
    });
    return {
      steps: steps.length,
      duration: median(steps.map((step) => step.duration)),
      model: median(steps.map((step) => step.model)),
      tool: median(steps.map((step) => step.tool)),
      own: median(steps.map((step) => step.own)),
      ownMax: Math.max(...steps.map((step) => step.own)),
      crop: result.images[1] ? `${result.images[1].width}×${result.images[1].height}` : "none",
      elided: result.images.filter((image) => image.state !== "full").length,
    };
  } finally {
    await agent.close();
  }
}

const bytes = await photo();
await agentRun(bytes); // warm-up: module loading, JIT, sharp's thread pool
const zoom = await zoomDirect(bytes);
const run = await agentRun(bytes);
const mcp = await mcpRoundTrip(bytes);
// The same loop with a tool that allocates next to nothing: the machine's cost without the zoom's garbage.
const quiet = await agentRun(bytes, "info");
const own = run.own + mcp.overhead;

const rows: Array<[string, string]> = [
  ["tool steps measured", String(run.steps)],
  ["crop size (each step)", run.crop],
  ["crops elided by the visual budget", String(run.elided)],
  ["step wall time (median)", `${run.duration.toFixed(2)} ms`],
  ["model time (scripted replay + prompt rendering)", `${run.model.toFixed(2)} ms`],
  ["tool call through the in-process MCP server", `${run.tool.toFixed(2)} ms`],
  ["zoom itself, called directly (baseline, same run)", `${zoom.toFixed(2)} ms`],
  [
    "machine, budgets, events, trace (step − model − tool call)",
    `${run.own.toFixed(2)} ms (max ${run.ownMax.toFixed(2)})`,
  ],
  [
    "same, with image_info instead of zoom (no 3 MB crops to collect)",
    `${quiet.own.toFixed(2)} ms (max ${quiet.ownMax.toFixed(2)})`,
  ],
  ["MCP round trip + result conversion (image_info via MCP − direct, paired)", `${mcp.overhead.toFixed(2)} ms`],
  ["framework's own time per step (the two above)", `${own.toFixed(2)} ms`],
  ["own / zoom itself", `${(own / zoom).toFixed(3)}×`],
  ["target: own < 5 ms", own < 5 ? "met" : "NOT met"],
];
process.stdout.write("| measure (per step) | value |\n|---|---|\n");
for (const [name, value] of rows) process.stdout.write(`| ${name} | ${value} |\n`);
