import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backendLocateModel } from "../../src/agent/locate.js";
import { type AskImageOutput, createAskImageTool } from "../../src/agent/ask-image-tool.js";
import { createSquintServer } from "../../src/mcp/server.js";
import { builtinTools } from "../../src/tools/index.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";
import {
  answerReply,
  type ScriptEntry,
  type ScriptedBackendOptions,
  ScriptedBackend,
  toolCallReply,
} from "../support/scripted-backend.js";
import { expectCodedError, textOf } from "../mcp/harness.js";

/**
 * ask_image over a real MCP client/server pair (in memory), with a scripted backend standing in for the model:
 * the agent, the tools, the image store and the MCP plumbing are all real.
 */

let dir: string;
let image: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "squint-ask-image-"));
  image = join(dir, "shapes.png");
  // 400×300, white, a red rectangle at x 100–300, y 75–225: [250, 250, 750, 750] in 0–1000 units.
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><rect width="400" height="300" fill="#fff"/><rect x="100" y="75" width="200" height="150" fill="#c00"/></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(image);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Served {
  client: Client;
  backend: ScriptedBackend;
  store: ImageStore;
  close(): Promise<void>;
}

async function serve(script: ScriptEntry[], backendOptions: ScriptedBackendOptions = {}): Promise<Served> {
  const backend = new ScriptedBackend(script, backendOptions);
  const store = new ImageStore();
  const askImage = createAskImageTool({ model: backend });
  const server = createSquintServer({
    tools: [...builtinTools(), askImage.tool],
    store,
    policy: defaultSourcePolicy({ allowedDirs: [dir] }),
    useClientRoots: false,
    contextExtras: { locateModel: backendLocateModel(backend) },
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "ask-image-test", version: "0" });
  await server.connect(serverSide);
  await client.connect(clientSide);
  return {
    client,
    backend,
    store,
    async close() {
      await client.close();
      await askImage.close();
    },
  };
}

async function ask(
  served: Served,
  args: Record<string, unknown>,
  options: { onprogress?: (progress: Progress) => void; signal?: AbortSignal } = {},
): Promise<CallToolResult> {
  return (await served.client.callTool({ name: "ask_image", arguments: args }, undefined, {
    timeout: 60_000,
    ...options,
  })) as CallToolResult;
}

const zoomTwiceThenAnswer: ScriptEntry[] = [
  toolCallReply("The rectangle is in the middle.", "image_zoom_in_tool", {
    bbox_2d: [250, 250, 750, 750],
    label: "red rectangle",
    img_idx: 0,
  }),
  toolCallReply("Look at its top-left corner.", "image_zoom_in_tool", {
    bbox_2d: [0, 0, 500, 500],
    label: "corner",
    img_idx: 1,
  }),
  answerReply(
    "It is solid red.",
    'The rectangle is red.\n```json\n[{"bbox_2d": [250, 250, 750, 750], "label": "red rectangle"}]\n```',
  ),
];

describe("ask_image (in-process server, scripted model)", () => {
  it("zooms, answers, and reports the steps, boxes in original pixels and one progress note per step", async () => {
    const served = await serve(zoomTwiceThenAnswer);
    try {
      const progress: Progress[] = [];
      const result = await ask(
        served,
        { images: [image], question: "What colour is the rectangle?", max_steps: 4 },
        { onprogress: (note) => progress.push(note) },
      );
      expect(result.isError, textOf(result)).toBeFalsy();
      const output = result.structuredContent as AskImageOutput;
      expect(output.status).toBe("answered");
      expect(output.answer).toContain("The rectangle is red.");
      expect(output.images).toHaveLength(1);
      const original = output.images[0] as string;
      expect(served.store.get(original)).toMatchObject({ width: 400, height: 300, operation: "original" });

      expect(output.steps.map((step) => [step.step, step.tool, step.ok])).toEqual([
        [1, "image_zoom_in_tool", true],
        [2, "image_zoom_in_tool", true],
      ]);
      expect(output.steps[0]?.arguments).toMatchObject({ bbox_2d: [250, 250, 750, 750], img_idx: 0 });
      // Each zoom is a store entry whose lineage leads to the image given.
      const [firstZoom, secondZoom] = output.steps.map((step) => step.images[0] as string);
      expect(served.store.get(firstZoom as string)).toMatchObject({ parentId: original, originalId: original });
      expect(served.store.get(secondZoom as string)).toMatchObject({ parentId: firstZoom, originalId: original });

      expect(output.boxes).toEqual([
        { label: "red rectangle", box: [100, 75, 300, 225], image: original, from: "image_zoom_in_tool", step: 1 },
        // The second zoom was on the first zoom's pixels: its box still comes out on the original.
        { label: "corner", box: [100, 75, 200, 150], image: original, from: "image_zoom_in_tool", step: 2 },
        { label: "red rectangle", box: [100, 75, 300, 225], image: original, from: "answer", step: 3 },
      ]);

      // The zooms come back as links the host can read (the first also inline).
      const links = result.content.filter((part) => part.type === "resource_link");
      expect(links.map((part) => (part.type === "resource_link" ? part.uri : ""))).toEqual([
        `squint://images/${firstZoom}`,
        `squint://images/${secondZoom}`,
      ]);
      expect(result.content.filter((part) => part.type === "image")).toHaveLength(1);

      expect(progress.map((note) => [note.progress, note.total])).toEqual([
        [1, 5],
        [2, 5],
        [3, 5],
      ]);
      expect(progress[1]?.message).toContain("image_zoom_in_tool");
      // The model saw the zoom tool and three images by the last turn (the original and two zooms).
      expect(served.backend.requests).toHaveLength(3);
      // A run that ends normally aborts nothing (so the cancellation test below means something).
      expect(served.backend.requests.map((request) => request.signal?.aborted)).toEqual([false, false, false]);
      expect(served.backend.prompts[2]?.match(/<\|vision_start\|>/g)).toHaveLength(3);
    } finally {
      await served.close();
    }
  }, 60_000);

  it("runs on the server's own store entries: an id from an earlier tool result is the same image", async () => {
    const served = await serve([
      answerReply(
        "The crop shows the rectangle.",
        '```json\n[{"bbox_2d": [0, 0, 1000, 1000], "label": "all of it"}]\n```',
      ),
    ]);
    try {
      // The host zooms first, then asks about its own zoom by id.
      const zoom = (await served.client.callTool({
        name: "image_zoom_in_tool",
        arguments: { image, bbox_2d: [250, 250, 750, 750] },
      })) as CallToolResult;
      const zoomId = (zoom.structuredContent as { image: { id: string } }).image.id;
      const before = served.store.stats().images;
      const result = await ask(served, { images: [zoomId], question: "What is in this crop?" });
      const output = result.structuredContent as AskImageOutput;
      expect(output.images).toEqual([zoomId]);
      expect(served.store.stats().images).toBe(before); // nothing decoded again
      // A box on the whole crop is the crop's region of the original.
      const originalId = served.store.get(zoomId).originalId;
      expect(output.boxes).toEqual([
        { label: "all of it", box: [100, 75, 300, 225], image: originalId, from: "answer", step: 1 },
      ]);
      expect(output.steps).toEqual([]);
      // Pinned for the run only: no pins left behind.
      expect(served.store.stats().pinned).toBe(0);
    } finally {
      await served.close();
    }
  }, 60_000);

  it("runs concurrent calls independently on one shared agent", async () => {
    const served = await serve([
      toolCallReply("Zoom.", "image_zoom_in_tool", { bbox_2d: [250, 250, 750, 750], label: "middle", img_idx: 0 }),
      answerReply("Seen.", "Done."),
    ]);
    try {
      const other = join(dir, "other.png");
      await sharp({ create: { width: 200, height: 100, channels: 3, background: "#00f" } })
        .png()
        .toFile(other);
      const [first, second] = await Promise.all([
        ask(served, { images: [image], question: "One?" }),
        ask(served, { images: [other], question: "Two?" }),
      ]);
      const one = first?.structuredContent as AskImageOutput;
      const two = second?.structuredContent as AskImageOutput;
      expect(one.images[0]).not.toBe(two.images[0]);
      // Each run's zoom is on its own image, in that image's pixels.
      expect(one.boxes).toEqual([
        { label: "middle", box: [100, 75, 300, 225], image: one.images[0], from: "image_zoom_in_tool", step: 1 },
      ]);
      expect(two.boxes).toEqual([
        { label: "middle", box: [50, 25, 150, 75], image: two.images[0], from: "image_zoom_in_tool", step: 1 },
      ]);
      expect(served.backend.requests).toHaveLength(4);
    } finally {
      await served.close();
    }
  }, 60_000);

  it("stops the run when the host cancels: the backend sees the abort, no further turn starts", async () => {
    const longReasoning = `${"Looking very carefully at every pixel. ".repeat(40)}`;
    const served = await serve(
      [
        toolCallReply("Zoom first.", "image_zoom_in_tool", { bbox_2d: [250, 250, 750, 750], label: "x", img_idx: 0 }),
        toolCallReply(longReasoning, "image_zoom_in_tool", { bbox_2d: [0, 0, 500, 500], label: "y", img_idx: 1 }),
        answerReply("Done.", "Red."),
      ],
      { chunkDelayMs: 15, chunkSize: 20 },
    );
    try {
      const controller = new AbortController();
      const call = ask(
        served,
        { images: [image], question: "What colour?" },
        {
          signal: controller.signal,
          // Cancel as soon as the second model turn starts generating.
          onprogress: (note) => {
            if (note.progress === 2) setTimeout(() => controller.abort("the user pressed stop"), 100);
          },
        },
      );
      await expect(call).rejects.toThrow();
      // The server heard the cancellation: the second generation's signal is aborted.
      await expect.poll(() => served.backend.requests[1]?.signal?.aborted, { timeout: 5_000 }).toBe(true);
      // The run has ended once its images are unpinned; it never reached the second zoom or a third turn.
      await expect.poll(() => served.store.stats().pinned, { timeout: 5_000 }).toBe(0);
      expect(served.backend.requests).toHaveLength(2);
      expect(served.store.stats().images).toBe(2); // the original and the first zoom only
      // The server keeps serving afterwards.
      const after = (await served.client.callTool({ name: "image_info", arguments: { image } })) as CallToolResult;
      expect(after.structuredContent).toMatchObject({ width: 400, height: 300 });
    } finally {
      await served.close();
    }
  }, 60_000);

  it("turns a run that never answers into a coded error with a hint", async () => {
    const served = await serve([]); // the scripted model fails on its first turn
    try {
      expectCodedError(await ask(served, { images: [image], question: "Anything?" }), "BACKEND_FAILED");
      expectCodedError(await ask(served, { images: ["/etc/passwd"], question: "Anything?" }), "PATH_NOT_ALLOWED");
      expectCodedError(await ask(served, { images: [image], question: "x", max_steps: 0 }), "INVALID_ARGUMENT");
      expect(served.store.stats().pinned).toBe(0);
    } finally {
      await served.close();
    }
  }, 60_000);
});
