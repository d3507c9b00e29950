import { z } from "zod";
import type { ToolContext } from "../../src/tools/context.js";
import type { ToolDefinition } from "../../src/tools/tool.js";

/**
 * Tools that exist only to exercise the server's plumbing: progress and cancellation (a tool that waits until
 * it is cancelled) and a tool whose result breaks its own output schema.
 */
/** How many test_wait runs saw their signal abort: proof that a client's cancel reached the tool. */
export const waitToolAborts = { count: 0 };
/** How many test_wait runs have started: a test cancels once its call is running on the server. */
export const waitToolStarts = { count: 0 };

const waitInput = z.object({ steps: z.number().int().min(1).max(20), stepMs: z.number().int().min(1).max(1000) });
const waitOutput = z.object({ completed: z.number().int() });

export const waitTool: ToolDefinition<typeof waitInput, typeof waitOutput, ToolContext> = {
  name: "test_wait",
  title: "Wait",
  description: "Waits steps × stepMs, reporting progress after each step; stops when cancelled.",
  inputSchema: waitInput,
  outputSchema: waitOutput,
  async run(input, _context, options) {
    waitToolStarts.count++;
    for (let step = 1; step <= input.steps; step++) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, input.stepMs);
        options.signal?.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            waitToolAborts.count++;
            reject(options.signal?.reason);
          },
          { once: true },
        );
      });
      options.onProgress?.({ progress: step, total: input.steps, message: `step ${step}` });
    }
    return { structured: { completed: input.steps }, images: [], summary: `Waited ${input.steps} steps.` };
  },
};

const brokenInput = z.object({});
const brokenOutput = z.object({ count: z.number() });

export const brokenOutputTool: ToolDefinition<typeof brokenInput, typeof brokenOutput, ToolContext> = {
  name: "test_broken_output",
  title: "Broken output",
  description: "Returns a result that does not match its output schema.",
  inputSchema: brokenInput,
  outputSchema: brokenOutput,
  async run() {
    return { structured: { count: "many" } as unknown as { count: number }, images: [], summary: "oops" };
  },
};

export const crashTool: ToolDefinition<typeof brokenInput, typeof brokenOutput, ToolContext> = {
  name: "test_crash",
  title: "Crash",
  description: "Throws a plain Error, as a bug deep in a library would.",
  inputSchema: brokenInput,
  outputSchema: brokenOutput,
  async run() {
    throw new TypeError("Cannot read properties of undefined (reading 'width')");
  },
};
