import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./support/cli.js";

// The public entry points: every name the README and the issues promise, from the sources the exports map builds.
describe("package entry points", () => {
  it("squint exports the agent SDK", async () => {
    const root = await import("../src/index.js");
    for (const name of [
      "createAgent",
      "locate",
      "stepCountIs",
      "hasToolCall",
      "createRemoteBackend",
      "createBackend",
      "ImageStore",
      "SquintError",
    ]) {
      expect(typeof (root as Record<string, unknown>)[name], name).toBe("function");
    }
  });

  it("squint/model exports the model core", async () => {
    const model = (await import("../src/model/index.js")) as Record<string, unknown>;
    const names = [
      "parseModelConfig",
      "smartResize",
      "preprocessImage",
      "visualTokenCount",
      "preprocessVideo",
      "loadTokenizer",
    ];
    names.push("renderPrompt", "expandVisionPlaceholders", "ropePositions", "mropeCosSin", "parseReply", "ReplyParser");
    for (const name of names) expect(typeof model[name], name).toBe("function");
  });

  it("squint/model exports a deliberate list, not every helper of its files", async () => {
    const model = (await import("../src/model/index.js")) as Record<string, unknown>;
    // Adding a name here is a decision about the public API; internal helpers stay out.
    expect(Object.keys(model).sort()).toEqual(
      [
        "DEFAULT_MAX_INPUT_PIXELS",
        "DEFAULT_PREPROCESSOR_CONFIG",
        "IMAGE_PLACEHOLDER",
        "QwenTokenizer",
        "ReplyParser",
        "Sampler",
        "TokenStreamDecoder",
        "VIDEO_PLACEHOLDER",
        "contentParts",
        "decodeImage",
        "expandVisionPlaceholders",
        "greedySampling",
        "instructEvalSampling",
        "instructSampling",
        "loadTokenizer",
        "messageSchema",
        "mropeCosSin",
        "parseGenerationConfig",
        "parseGrounding",
        "parseModelConfig",
        "parsePreprocessorConfig",
        "parseReply",
        "preprocessImage",
        "preprocessVideo",
        "renderChatTemplate",
        "renderPrompt",
        "resolveSampling",
        "ropePositions",
        "samplingOptionsSchema",
        "smartResize",
        "thinkingEvalSampling",
        "thinkingSampling",
        "toolSpecSchema",
        "visualTokenCount",
      ].sort(),
    );
    for (const internal of ["roundHalfEven", "resizeBicubicSync", "pythonJsonDumps", "applyPenalties", "argmax"]) {
      expect(model[internal], internal).toBeUndefined();
    }
  });

  it("squint/tools, squint/runtime and squint/mcp export their areas", async () => {
    const tools = (await import("../src/tools/index.js")) as Record<string, unknown>;
    const runtime = (await import("../src/runtime/index.js")) as Record<string, unknown>;
    const mcp = (await import("../src/mcp/index.js")) as Record<string, unknown>;
    expect(typeof tools.builtinTools).toBe("function");
    expect(typeof runtime.createLocalBackend).toBe("function");
    expect(typeof runtime.createRemoteBackend).toBe("function");
    expect(typeof runtime.createBackend).toBe("function");
    expect(typeof mcp.createSquintServer).toBe("function");
    expect(typeof mcp.serveStdio).toBe("function");
    expect(typeof mcp.serveHttp).toBe("function");
    const http = (await import("../src/http/index.js")) as Record<string, unknown>;
    expect(typeof http.serve).toBe("function");
    expect(typeof http.createServeApp).toBe("function");
  });

  it("squint/eval exports the harness", async () => {
    const evalEntry = (await import("../src/eval/index.js")) as Record<string, unknown>;
    for (const name of [
      "loadSuite",
      "runEval",
      "buildReport",
      "renderReportHtml",
      "compareReports",
      "scoreAnswer",
      "pairedDifference",
      "wilson",
    ]) {
      expect(typeof evalEntry[name], name).toBe("function");
    }
  });

  it("squint/gui exports the GUI helper", async () => {
    const guiEntry = (await import("../src/gui/index.js")) as Record<string, unknown>;
    for (const name of ["gui", "Gui", "pageScreen", "isPlaywrightPage", "TargetCache", "GuiTrace", "checkHit"]) {
      expect(typeof guiEntry[name], name).toBe("function");
    }
  });

  it("package.json maps each entry point to its built index", () => {
    const pkg = JSON.parse(readFileSync(`${repoRoot}package.json`, "utf8")) as {
      exports: Record<string, { import: string } | string>;
      bin: Record<string, string>;
    };
    for (const [subpath, dir] of [
      [".", ""],
      ["./model", "model/"],
      ["./tools", "tools/"],
      ["./runtime", "runtime/"],
      ["./mcp", "mcp/"],
      ["./http", "http/"],
      ["./gui", "gui/"],
      ["./eval", "eval/"],
    ] as const) {
      const entry = pkg.exports[subpath];
      expect(typeof entry === "object" ? entry.import : entry).toBe(`./dist/${dir}index.js`);
    }
    expect(pkg.bin.squint).toBe("./bin/squint.js");
  });
});
