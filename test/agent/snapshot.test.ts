import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createAgent } from "../../src/agent/agent.js";
import type { AgentContext } from "../../src/agent/context.js";
import { type AgentSnapshot, parseSnapshot, SNAPSHOT_VERSION } from "../../src/agent/snapshot.js";
import { repoRoot } from "../support/cli.js";
import { ScriptedBackend } from "../support/scripted-backend.js";
import { syntheticPhoto } from "./fixtures.js";
import { comparableResult, zoomTwiceScript } from "./scripts.js";

describe("snapshots", () => {
  it("a snapshot taken mid-run resumes in a fresh process and reaches the same result", async () => {
    const backend = new ScriptedBackend(zoomTwiceScript());
    let snapshot: AgentSnapshot | undefined;
    let takeSnapshot: (() => Promise<AgentSnapshot>) | undefined;
    const agent = await createAgent({
      model: backend,
      // Step 2 starts after the first zoom came back: freeze the run there.
      prepareStep: async ({ step }) => {
        if (step === 2 && takeSnapshot) snapshot = await takeSnapshot();
        return undefined;
      },
    });
    try {
      const run = agent.run({ images: [await syntheticPhoto()], prompt: "What is in the middle?" });
      takeSnapshot = run.snapshot;
      const result = await run.result;
      expect(result.status).toBe("answered");
      expect(snapshot).toBeDefined();
      const json = JSON.stringify(snapshot);
      // Plain JSON that survives a round trip, carrying the user image and the first crop (not the second).
      const reread = parseSnapshot(JSON.parse(json));
      expect(reread.images.map((image) => image.operation)).toEqual(["original", "zoom"]);
      const file = path.join(mkdtempSync(path.join(tmpdir(), "squint-snapshot-")), "run.json");
      writeFileSync(file, json);

      const child = spawnSync(process.execPath, ["--import", "tsx", "test/agent/resume-child.ts", file], {
        cwd: repoRoot,
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(child.stderr).not.toMatch(/Error/);
      expect(child.status).toBe(0);
      const resumed = JSON.parse(child.stdout.trim().split("\n").at(-1) as string) as {
        result: ReturnType<typeof comparableResult>;
        requests: number;
      };
      expect(resumed.result).toEqual(comparableResult(result, agent.store));
      // The fresh process only ran what was left: steps 2 and 3.
      expect(resumed.requests).toBe(2);
    } finally {
      await agent.close();
    }
  });

  it("loads a version-1 snapshot (the names before the AI SDK vocabulary) and resumes it to the same result", async () => {
    const fixture: unknown = JSON.parse(
      readFileSync(path.join(repoRoot, "test/fixtures/agent/snapshot-v1.json"), "utf8"),
    );
    expect(fixture).toMatchObject({ version: 1, machine: { context: { promptTokens: expect.any(Number) } } });
    const migrated = parseSnapshot(fixture);
    expect(migrated.version).toBe(SNAPSHOT_VERSION);
    const context = migrated.machine.context as AgentContext;
    expect(context).not.toHaveProperty("promptTokens");
    expect(context.inputTokens).toBe(
      (fixture as { machine: { context: { promptTokens: number } } }).machine.context.promptTokens,
    );
    expect(context.trace[0]?.calls[0]).toMatchObject({
      toolCallId: "call_0_0",
      toolName: "image_zoom_in_tool",
      input: { bbox_2d: [500, 300, 600, 500], label: "block", img_idx: 0 },
    });
    expect(context.trace[0]?.calls[0]).not.toHaveProperty("arguments");
    expect(context.trace[0]?.inputTokens).toBeGreaterThan(0);

    // The same run, uninterrupted, with the current code: the resumed old snapshot must end the same way.
    const fresh = await createAgent({ model: new ScriptedBackend(zoomTwiceScript()) });
    const resumedAgent = await createAgent({ model: new ScriptedBackend(zoomTwiceScript()) });
    try {
      const expected = await fresh.run({ images: [await syntheticPhoto()], prompt: "What is in the middle?" }).result;
      const resumed = await resumedAgent.resume(fixture).result;
      expect(comparableResult(resumed, resumedAgent.store)).toEqual(comparableResult(expected, fresh.store));
      expect(resumed.usage.inputTokens).toBeGreaterThan(context.inputTokens);
    } finally {
      await fresh.close();
      await resumedAgent.close();
    }
  });

  it("refuses a snapshot from a newer version, saying which versions it reads", () => {
    expect(() => parseSnapshot({ format: "squint-agent-snapshot", version: 99, machine: {}, images: [] })).toThrow(
      /version 99; this Squint reads versions 1 to 2/,
    );
  });

  it("refuses something that is not a snapshot, with a hint", async () => {
    const agent = await createAgent({ model: new ScriptedBackend([]) });
    try {
      const result = agent.resume({ format: "other" }).result;
      await expect(result).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    } finally {
      await agent.close();
    }
  });
});
