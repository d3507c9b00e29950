import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createAgent } from "../../src/agent/agent.js";
import { parseSnapshot, type AgentSnapshot } from "../../src/agent/snapshot.js";
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
