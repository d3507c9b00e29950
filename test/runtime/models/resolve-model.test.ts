import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModelFiles } from "../../../src/runtime/local/model-files.js";
import { listModels } from "../../../src/runtime/models/model-store.js";
import { resolveModel } from "../../../src/runtime/models/resolve-model.js";
import { DEFAULT_MODEL, DEFAULT_MODEL_DTYPE, isHubId, squintHome } from "../../../src/runtime/models/store-paths.js";
import { builtGraphs } from "../../parity/built-graphs.js";
import { tinyCheckpoint, tokenizerFixture } from "../../support/tiny-checkpoint.js";

/** A model argument: Hub id, checkpoint directory or built directory, and where the store lives. */
let scratch: string;
let checkpoint: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "squint-resolve-"));
  checkpoint = await tinyCheckpoint({ seed: 1, tokenizer: tokenizerFixture });
}, 300_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe("store location", () => {
  it("SQUINT_HOME wins over XDG_CACHE_HOME, which wins over ~/.cache", () => {
    expect(squintHome({ SQUINT_HOME: "/a", XDG_CACHE_HOME: "/b" })).toBe("/a");
    expect(squintHome({ XDG_CACHE_HOME: "/b" })).toBe("/b/squint");
    expect(squintHome({})).toBe(join(homedir(), ".cache", "squint"));
  });

  it("the default model is Qwen3-VL-2B-Thinking in int4", () => {
    expect(DEFAULT_MODEL).toBe("Qwen/Qwen3-VL-2B-Thinking");
    expect(DEFAULT_MODEL_DTYPE).toBe("int4");
  });

  it("recognises Hub ids", () => {
    expect(isHubId("Qwen/Qwen3-VL-2B-Thinking")).toBe(true);
    expect(isHubId("a/b/c")).toBe(false);
    expect(isHubId("../etc")).toBe(false);
    expect(isHubId("owner/..")).toBe(false);
    expect(isHubId("just-a-name")).toBe(false);
  });
});

describe("resolveModel", () => {
  it("builds a checkpoint directory into the store once, then reuses the build", async () => {
    const home = join(scratch, "home-a");
    const events: string[] = [];
    const first = await resolveModel(checkpoint, { home, dtype: "int4", onProgress: (e) => events.push(e.message) });
    expect(first.kind).toBe("checkpoint");
    expect(first.builtDir.startsWith(join(home, "local"))).toBe(true);
    expect(events).toHaveLength(1);
    // The build carries the checkpoint's config and tokenizer, so it loads on its own.
    const files = await loadModelFiles(first.builtDir);
    expect(files.manifest.dtype).toBe("int4");
    expect(files.manifest.logits).toBe("last");
    const second = await resolveModel(checkpoint, { home, dtype: "int4", onProgress: (e) => events.push(e.message) });
    expect(second.builtDir).toBe(first.builtDir);
    expect(events).toHaveLength(1);
    expect((await listModels(home)).map((m) => [m.id, m.kind, m.dtype])).toEqual([
      [checkpoint.replace(/\/$/, ""), "local", "int4"],
    ]);
    await expect(resolveModel(checkpoint, { home, dtype: "fp16", build: false })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  }, 300_000);

  it("takes a built directory as it is", async () => {
    const built = await builtGraphs(checkpoint, { dtype: "fp32" });
    const resolved = await resolveModel(built, { home: join(scratch, "home-b") });
    expect(resolved).toMatchObject({ kind: "built", builtDir: built, filesDir: built });
    expect(existsSync(join(scratch, "home-b"))).toBe(false);
    // A folder from `squint models build` has no tokenizer: loading names what is missing, or takes the checkpoint.
    const bare = join(scratch, "bare-build");
    cpSync(built, bare, { recursive: true });
    await expect(loadModelFiles(bare)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await loadModelFiles(bare, checkpoint)).manifest.dtype).toBe("fp32");
  }, 300_000);

  it("says what to do for anything else", async () => {
    const home = join(scratch, "home-c");
    await expect(resolveModel("Qwen/Qwen3-VL-2B-Thinking", { home })).rejects.toMatchObject({
      code: "NOT_FOUND",
      hint: expect.stringContaining("squint models pull Qwen/Qwen3-VL-2B-Thinking"),
    });
    const empty = join(scratch, "empty-dir");
    mkdirSync(empty);
    writeFileSync(join(empty, "notes.txt"), "hi");
    await expect(resolveModel(empty, { home })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(resolveModel("no such thing at all", { home })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
