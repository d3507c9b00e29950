import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../src/cli/main.js";
import { runSquint } from "../../support/cli.js";
import { tinyCheckpoint, tokenizerFixture } from "../../support/tiny-checkpoint.js";
import { FakeHub } from "./fake-hub.js";

/**
 * `squint models pull | list | rm` as a user runs them (child processes, SQUINT_HOME pointing at a scratch
 * store, the fake Hub on loopback). Lives here rather than under test/cli because it needs the fake Hub.
 */
const REPO = "tiny-org/Qwen3-VL-Tiny";
let hub: FakeHub;
let home: string;

beforeAll(async () => {
  hub = new FakeHub(REPO, await tinyCheckpoint({ seed: 1, tokenizer: tokenizerFixture }));
  await hub.start();
  home = mkdtempSync(join(tmpdir(), "squint-cli-home-"));
}, 300_000);

afterAll(async () => {
  await hub?.stop();
  rmSync(home, { recursive: true, force: true });
});

const env = () => ({ SQUINT_HOME: home, HF_TOKEN: "" });

function sink(write: (text: string) => void): NodeJS.WritableStream {
  return {
    write: (text: string) => {
      write(text);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
}

/** The CLI in this process (spawning costs seconds per call); SQUINT_HOME is set for the call. */
async function squint(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const saved = process.env.SQUINT_HOME;
  process.env.SQUINT_HOME = home;
  try {
    const code = await main(args, {
      stdout: sink((text) => {
        stdout += text;
      }),
      stderr: sink((text) => {
        stderr += text;
      }),
      isTTY: false,
    });
    return { code, stdout, stderr };
  } finally {
    if (saved === undefined) delete process.env.SQUINT_HOME;
    else process.env.SQUINT_HOME = saved;
  }
}

describe("squint models pull/list/rm", () => {
  it("pulls without building, lists, and removes", async () => {
    const pull = await runSquint(["models", "pull", REPO, "--no-build", "--hub-url", hub.url], { env: env() });
    expect(pull.stderr).toContain(`${REPO}@main → ${hub.commit.slice(0, 12)}`);
    expect(pull.stderr).toContain("verified model.safetensors");
    expect(pull.code).toBe(0);
    const dir = pull.stdout.trim();
    expect(existsSync(join(dir, "model.safetensors"))).toBe(true);

    const list = await squint(["models", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(
        `^MODEL\\s+BUILD\\s+COMMIT\\s+SIZE\\n${REPO}\\s+checkpoint\\s+${hub.commit.slice(0, 12)} \\(main\\)\\s+\\d+\\.\\d MB\\n$`,
      ),
    );

    const json = await squint(["models", "list", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject([{ id: REPO, kind: "hub", commit: hub.commit, revisions: ["main"] }]);

    const rm = await squint(["models", "rm", REPO]);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain(`removed ${dir}`);
    expect(existsSync(dir)).toBe(false);

    const again = await squint(["models", "rm", REPO]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("(NOT_FOUND)");
    expect(again.stderr).toContain("squint models list");
  }, 120_000);

  it("reports bad arguments and Hub errors in one line with a hint", async () => {
    const bad = await squint(["models", "pull", REPO, "--dtype", "int3"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("(INVALID_ARGUMENT)");
    const missing = await squint(["models", "pull", "tiny-org/nope", "--hub-url", hub.url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\(NOT_FOUND\) — Check the repo id/);
    expect(missing.stderr).not.toContain("    at ");
  }, 120_000);
});
