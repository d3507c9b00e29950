import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServeHandle } from "../../src/http/server.js";
import { answerReply, ScriptedBackend, toolCallReply } from "../support/scripted-backend.js";
import { call, expectError, pngDataUrl, startServer } from "./harness.js";

/**
 * /v1/ask over a scripted Thinking model: turn 1 zooms into the image (the real zoom tool runs on the real
 * image store), turn 2 answers. The response carries the steps, the zoom box in the original image's pixels,
 * usage and timings; `stream: true` sends the agent's events as SSE and the same body as a `result` event.
 */

const script = () => [
  toolCallReply("The sign is small; zoom in.", "image_zoom_in_tool", {
    bbox_2d: [500, 500, 750, 1000],
    label: "the sign",
    img_idx: 0,
  }),
  answerReply("Now I can read it.", "The sign says OPEN."),
];

let server: ServeHandle;
let backend: ScriptedBackend;
let image: string;

beforeAll(async () => {
  image = await pngDataUrl(400, 200, "#aa8866");
  backend = new ScriptedBackend([...script(), ...script(), ...script()], { thinking: true });
  server = await startServer({ backend, warmup: false, limits: { maxAskSteps: 4 } });
  await server.context.model.loaded;
});

afterAll(async () => {
  await server?.close();
});

interface AskBody {
  status: string;
  answer: string;
  reasoning: string;
  steps: Array<{ step: number; calls: Array<{ name: string; ok: boolean }> }>;
  boxes: Array<{ tool: string; image: number | null; box: number[]; label?: string }>;
  usage: { input_tokens: number; output_tokens: number; visual_tokens: number; turns: number; tool_calls: number };
  timing_ms: { total: number; model: number; tools: number; queue: number };
}

describe("/v1/ask", () => {
  it("answers after zooming, with steps, boxes in original pixels, usage and timings", async () => {
    backend.requests.length = 0;
    const reply = await call(`${server.url}/v1/ask`, { body: { image, question: "What does the sign say?" } });
    expect(reply.status).toBe(200);
    const body = reply.body as AskBody;
    expect(body.status).toBe("answered");
    expect(body.answer).toBe("The sign says OPEN.");
    expect(body.steps).toHaveLength(2);
    expect(body.steps[0]!.calls).toMatchObject([{ name: "image_zoom_in_tool", ok: true }]);
    // bbox_2d [500,500,750,1000] of a 400×200 image is [200,100,300,200] in its pixels.
    expect(body.boxes).toContainEqual(
      expect.objectContaining({ tool: "image_zoom_in_tool", image: 0, box: [200, 100, 300, 200] }),
    );
    expect(body.usage).toMatchObject({ turns: 2, tool_calls: 1 });
    expect(body.usage.visual_tokens).toBeGreaterThan(0);
    expect(body.usage.input_tokens).toBeGreaterThan(0);
    expect(body.timing_ms.total).toBeGreaterThanOrEqual(body.timing_ms.model);
    // The model saw the request's image, then the zoomed crop.
    expect(backend.requests).toHaveLength(2);
    // /metrics counts the run's turns, its tool calls by tool, and its visual tokens.
    const metrics = (await call(`${server.url}/metrics`)).text;
    expect(metrics).toMatch(/^squint_request_turns_sum 2$/m);
    expect(metrics).toMatch(/^squint_tool_calls_total\{tool="image_zoom_in_tool"\} 1$/m);
    expect(metrics).toMatch(/^squint_request_visual_tokens_sum [1-9]\d*$/m);
  });

  it("streams the agent's events as SSE, then the result", async () => {
    const response = await fetch(`${server.url}/v1/ask`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ images: [image], question: "What does the sign say?", stream: true }),
    });
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    const text = await response.text();
    const events = [...text.matchAll(/event: (\S+)\ndata: (.*)\n\n/g)].map((match) => ({
      type: match[1]!,
      data: JSON.parse(match[2]!) as Record<string, unknown>,
    }));
    const types = events.map((event) => event.type);
    for (const type of ["start-step", "reasoning-delta", "tool-call", "tool-result", "answer", "result"]) {
      expect(types).toContain(type);
    }
    expect(types.at(-1)).toBe("result");
    expect((events.at(-1)!.data as unknown as AskBody).answer).toBe("The sign says OPEN.");
  });

  it("refuses bad input with coded errors", async () => {
    expectError(await call(`${server.url}/v1/ask`, { body: { question: "x" } }), 400, "INVALID_ARGUMENT");
    expectError(
      await call(`${server.url}/v1/ask`, { body: { image, images: [image], question: "x" } }),
      400,
      "INVALID_ARGUMENT",
    );
    expectError(
      await call(`${server.url}/v1/ask`, { body: { image, question: "x", max_steps: 9 } }),
      400,
      "INVALID_ARGUMENT",
    );
    expectError(
      await call(`${server.url}/v1/ask`, { body: { image, question: "x", tools: ["nope"] } }),
      400,
      "INVALID_ARGUMENT",
    );
    expectError(
      await call(`${server.url}/v1/ask`, { body: { image: "upl_doesnotexist0000000000", question: "x" } }),
      404,
      "NOT_FOUND",
    );
    expectError(
      await call(`${server.url}/v1/ask`, { body: { images: Array(9).fill(image), question: "x" } }),
      413,
      "REQUEST_TOO_LARGE",
    );
  });

  it("without a model: a coded error saying a model is needed", async () => {
    const bare = await startServer({});
    try {
      const reply = await call(`${bare.url}/v1/ask`, { body: { image, question: "x" } });
      expectError(reply, 501, "MODEL_REQUIRED");
      expect((reply.body as { error: { hint: string } }).error.hint).toMatch(/--model/);
    } finally {
      await bare.close();
    }
  });
});

describe("/v1/ask keeps each request to its own images", () => {
  it("a model cannot reach another client's image: not by a store id in the arguments, not by an index past its own", async () => {
    let otherId = "";
    const isolated = new ScriptedBackend(
      [
        // An index past the request's one image.
        toolCallReply("Is there a second image?", "image_info", { img_idx: 1 }),
        // The other client's image by its store id, as an MCP host would name it.
        () => toolCallReply("Try the other one by id.", "image_info", { img_idx: 0, image: otherId }),
        answerReply("Done.", "I only see one image."),
      ],
      { thinking: true },
    );
    const shared = await startServer({ backend: isolated, warmup: false });
    try {
      await shared.context.model.loaded;
      // Client A uploads a 300×100 image: it sits in the server's one store.
      const upload = await call(`${shared.url}/v1/images`, { body: { image: await pngDataUrl(300, 100, "#ff0000") } });
      expect(upload.status).toBe(200);
      otherId = shared.context.uploads.get((upload.body as { id: string }).id).id;
      // Client B asks about its own 64×48 image.
      const reply = await call(`${shared.url}/v1/ask`, {
        body: { image: await pngDataUrl(64, 48), question: "What images are there?" },
      });
      expect(reply.status).toBe(200);
      const body = reply.body as AskBody & { steps: Array<{ calls: Array<{ ok: boolean; summary: string }> }> };
      expect(body.steps[0]!.calls[0]).toMatchObject({ ok: false });
      expect(body.steps[0]!.calls[0]!.summary).toMatch(/img_idx 1 does not exist/);
      // The id in the arguments is replaced by the request's own image: B learns nothing of A's.
      expect(body.steps[1]!.calls[0]).toMatchObject({ ok: true });
      expect(body.steps[1]!.calls[0]!.summary).toMatch(/64×48/);
      expect(JSON.stringify(body)).not.toMatch(/300×100|"width":300/);
      // What the tools told the model is about B's image only.
      for (const prompt of isolated.prompts) {
        const responses = [...prompt.matchAll(/<tool_response>([\s\S]*?)<\/tool_response>/g)].map((m) => m[1]);
        for (const response of responses) expect(response).not.toMatch(/300×100|"width":300/);
      }
      expect(isolated.prompts.at(-1)).toMatch(/<tool_response>[\s\S]*64×48/);
      // And the request body itself may not name a store id (upload ids are random; store ids are sequential).
      expectError(
        await call(`${shared.url}/v1/ask`, { body: { image: otherId, question: "x" } }),
        400,
        "INVALID_ARGUMENT",
      );
    } finally {
      await shared.close();
    }
  });
});
