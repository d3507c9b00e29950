import { defineConfig } from "vitest/config";

/**
 * Integration tests: a file belongs here when it spawns a process (the CLI, an MCP server, a child that
 * writes to a pipe), builds or runs ONNX graphs (tiny checkpoints, the parity suites, the local engine,
 * the OCR models), or starts Chromium. Everything else is a unit test and runs in `npm run check`, which
 * must stay under 30 s on two cores; `npm test` runs both projects.
 */
export const integrationTests = [
  "test/index.test.ts",
  "test/http/**/*.test.ts",
  "test/parity/**/*.test.ts",
  "test/cli/**/*.test.ts",
  "test/examples/**/*.test.ts",
  "test/agent/external-mcp.test.ts",
  "test/agent/snapshot.test.ts",
  "test/agent/trace/**/*.test.ts",
  "test/mcp/ask-image-cli.test.ts",
  "test/mcp/bad-input.test.ts",
  "test/mcp/http.test.ts",
  "test/mcp/mcp-json-file.test.ts",
  "test/mcp/stdio.test.ts",
  "test/mcp/client/stdio-transport.test.ts",
  "test/mcp/client/toolset.test.ts",
  "test/model/checkpoint/tiny.test.ts",
  "test/model/graph/build.test.ts",
  "test/model/graph/contrib-ops.test.ts",
  "test/runtime/local/engine.test.ts",
  "test/runtime/local/kv-cache.test.ts",
  "test/runtime/local/shared-cache.test.ts",
  "test/runtime/local/webgpu.test.ts",
  "test/runtime/models/**/*.test.ts",
  "test/tools/ocr/engine.test.ts",
  "test/tools/ocr/ocr-tool.test.ts",
  "test/tools/locate-builtin-ocr.test.ts",
  "test/eval/report-html.test.ts",
  "test/eval/suites.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: integrationTests,
          // Pure code: worker threads start faster than forks.
          pool: "threads",
          // Unit tests keep no global state, so files share a worker's module cache: imports are paid once per worker.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: integrationTests,
          // Two cores on CI: forks keep native addons (sharp, onnxruntime) isolated per file.
          pool: "forks",
        },
      },
    ],
  },
});
