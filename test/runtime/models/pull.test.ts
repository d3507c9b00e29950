import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackendEvent } from "../../../src/runtime/backend.js";
import { createLocalBackend } from "../../../src/runtime/local/create-local-backend.js";
import { listModels, removeModel } from "../../../src/runtime/models/model-store.js";
import { type PullProgress, pullModel } from "../../../src/runtime/models/pull.js";
import { resolveModel } from "../../../src/runtime/models/resolve-model.js";
import { tinyCheckpoint, tokenizerFixture } from "../../support/tiny-checkpoint.js";
import { FakeHub } from "./fake-hub.js";

/**
 * `pullModel` against a loopback server that answers like the Hub's API and resolve endpoints (fake-hub.ts):
 * a full pull that builds and runs, a pull cut off mid-file that resumes with a range request, corrupted
 * bytes caught by the listed hashes, and the store's list/rm.
 */
const REPO = "tiny-org/Qwen3-VL-Tiny-Thinking";
let hub: FakeHub;
let checkpoint: string;
const homes: string[] = [];

function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), "squint-home-"));
  homes.push(home);
  return home;
}

beforeAll(async () => {
  checkpoint = await tinyCheckpoint({ seed: 1, tokenizer: tokenizerFixture });
  hub = new FakeHub(REPO, checkpoint);
  await hub.start();
}, 300_000);

afterAll(async () => {
  await hub?.stop();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

const weights = () => hub.files.find((file) => file.path === "model.safetensors")!;

describe("squint models pull (against a fake Hub)", () => {
  it("downloads, verifies and builds a checkpoint that then runs; a second pull downloads nothing", async () => {
    const home = newHome();
    const events: PullProgress[] = [];
    const result = await pullModel(REPO, { hubUrl: hub.url, home, dtype: "fp32", onProgress: (e) => events.push(e) });
    expect(result.commit).toBe(hub.commit);
    const total = hub.files.reduce((sum, file) => sum + file.data.length, 0);
    expect(result.downloadedBytes).toBe(total);
    for (const file of hub.files) {
      const bytes = readFileSync(join(result.checkpointDir, file.path));
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(file.sha256);
    }
    expect(events[0]).toMatchObject({ stage: "resolve", commit: hub.commit, files: hub.files.length, bytes: total });
    expect(events.filter((e) => e.stage === "download" && e.file === "model.safetensors").length).toBeGreaterThan(1);
    expect(events.filter((e) => e.stage === "verified").length).toBe(hub.files.length);
    expect(result.builtDir && existsSync(join(result.builtDir, "manifest.json"))).toBe(true);
    // LFS files are fetched through the resolve endpoint's redirect to the CDN path.
    expect(hub.requests.some((r) => r.url === `/${REPO}/resolve/${hub.commit}/model.safetensors`)).toBe(true);
    expect(hub.requests.some((r) => r.url === `/cdn/${weights().sha256}`)).toBe(true);

    const resolved = await resolveModel(REPO, { home, dtype: "fp32", build: false });
    expect(resolved.builtDir).toBe(result.builtDir);

    const again = await pullModel(REPO, { hubUrl: hub.url, home, dtype: "fp32" });
    expect(again.downloadedBytes).toBe(0);

    // The pulled model runs through createLocalBackend by its Hub id (no network involved).
    const backend = await createLocalBackend({
      model: REPO,
      home,
      dtype: "fp32",
      executionProvider: "cpu",
      threads: 1,
    });
    try {
      expect(backend.info.name).toContain(REPO);
      // The chat template decides over the name: the fixture tokenizer carries Qwen3's, which does not pre-open <think>.
      expect(backend.info.thinking).toBe(false);
      const events2: BackendEvent[] = [];
      for await (const event of backend.generate({
        messages: [{ role: "user", content: "Hi" }],
        maxOutputTokens: 3,
        sampling: { doSample: false },
        resolveImage: async () => {
          throw new Error("no images");
        },
      })) {
        events2.push(event);
      }
      const usage = events2.find((e) => e.type === "usage");
      expect(usage?.type === "usage" && usage.outputTokens).toBeGreaterThan(0);
    } finally {
      await backend.close();
    }

    const stored = await listModels(home);
    expect(stored.map((m) => [m.id, m.dtype ?? "checkpoint", m.revisions])).toEqual([
      [REPO, "fp32", ["main"]],
      [REPO, "checkpoint", ["main"]],
    ]);
    const removedBuild = await removeModel(REPO, { home, dtype: "fp32" });
    expect(removedBuild.removed).toEqual([result.builtDir]);
    expect((await listModels(home)).map((m) => m.dtype ?? "checkpoint")).toEqual(["checkpoint"]);
    await removeModel(REPO, { home });
    expect(await listModels(home)).toEqual([]);
    await expect(resolveModel(REPO, { home })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(removeModel(REPO, { home })).rejects.toMatchObject({ code: "NOT_FOUND" });
  }, 300_000);

  it("resumes an interrupted download with a range request", async () => {
    const home = newHome();
    const cut = 1_000_000;
    hub.cutOnce.set("model.safetensors", cut);
    await expect(pullModel(REPO, { hubUrl: hub.url, home, build: false })).rejects.toMatchObject({
      code: "DOWNLOAD_FAILED",
    });
    const dir = join(home, "checkpoints", "tiny-org--Qwen3-VL-Tiny-Thinking", hub.commit);
    const partial = join(dir, "model.safetensors.incomplete");
    const kept = statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(cut);
    expect(existsSync(join(dir, "model.safetensors"))).toBe(false);

    const before = hub.requests.length;
    const result = await pullModel(REPO, { hubUrl: hub.url, home, build: false });
    const cdnRequests = hub.requests
      .slice(before)
      .filter((r) => r.url === `/cdn/${weights().sha256}` && r.range !== "bytes=0-0");
    expect(cdnRequests.map((r) => r.range)).toEqual([`bytes=${kept}-${weights().data.length - 1}`]);
    // Files finished before the cut are not fetched again; the weights only from where they stopped.
    const smallFiles = hub.files.filter((f) => f.path !== "model.safetensors").reduce((s, f) => s + f.data.length, 0);
    expect(result.downloadedBytes).toBeLessThanOrEqual(weights().data.length - kept + smallFiles);
    const bytes = readFileSync(join(dir, "model.safetensors"));
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(weights().sha256);
    expect(existsSync(partial)).toBe(false);
  }, 120_000);

  it("rejects corrupted bytes (LFS sha256 and git blob sha1) and keeps nothing of them", async () => {
    for (const path of ["model.safetensors", "config.json"]) {
      const home = newHome();
      const dir = join(home, "checkpoints", "tiny-org--Qwen3-VL-Tiny-Thinking", hub.commit);
      hub.corrupt.add(path);
      try {
        const error = await pullModel(REPO, { hubUrl: hub.url, home, build: false }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: "DOWNLOAD_FAILED" });
        expect(String((error as Error).message)).toContain(`${path} is corrupt`);
        expect(existsSync(join(dir, path))).toBe(false);
        expect(existsSync(join(dir, `${path}.incomplete`))).toBe(false);
      } finally {
        hub.corrupt.delete(path);
      }
    }
    const result = await pullModel(REPO, { hubUrl: hub.url, home: homes.at(-1)!, build: false });
    expect(existsSync(join(result.checkpointDir, "config.json"))).toBe(true);
  }, 120_000);

  it("an unknown repo or revision is NOT_FOUND with a hint", async () => {
    const home = newHome();
    await expect(pullModel("tiny-org/missing", { hubUrl: hub.url, home })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(pullModel(REPO, { hubUrl: hub.url, home, revision: "v9" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(pullModel("not a repo", { hubUrl: hub.url, home })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});
