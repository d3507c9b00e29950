import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { defineConfig } from "vitest/config";

/**
 * Integration tests: a file belongs here when it spawns a process (the CLI, an MCP server, a child that
 * writes to a pipe), builds or runs ONNX graphs (tiny checkpoints, the parity suites, the local engine,
 * the OCR models), or starts Chromium. Everything else is a unit test and runs in `npm run check`, which
 * must stay under 30 s on two cores; `npm test` runs both projects.
 *
 * A test file that does one of these itself is found by what it imports or calls (`integrationMarkers`: a
 * helper that starts a process is named `spawn...`, `runSquint` or `connectStdio`);
 * the list names those that do it through a helper or through src/ (the OCR engine, a graph build).
 */
const listedIntegrationTests = [
  // imports every entry point, native addons included
  "test/index.test.ts",
  // squint serve over loopback, with the CLI
  "test/http/**/*.test.ts",
  // ONNX graphs built and run through helpers in test/parity
  "test/parity/**/*.test.ts",
  // the local engine and WebGPU through onnxruntime-node, from src/
  "test/runtime/local/engine.test.ts",
  "test/runtime/local/webgpu.test.ts",
  // the PP-OCR models in a worker thread, from src/tools/ocr
  "test/tools/ocr/engine.test.ts",
  "test/tools/ocr/ocr-tool.test.ts",
  "test/tools/locate-builtin-ocr.test.ts",
  // Chromium (also found by its import) and the shipped suites rendered at 4K-8K
  "test/eval/report-html.test.ts",
  "test/eval/suites.test.ts",
];

const integrationMarkers =
  /from "node:child_process"|from "onnxruntime-node"|from "playwright-core"|process\.execPath|\b(runSquint|spawn[A-Z]\w*|connectStdio)\(|support\/(chromium|tiny-checkpoint)\.js"/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

export const integrationTests = [
  ...listedIntegrationTests,
  ...testFiles("test")
    .filter((file) => integrationMarkers.test(readFileSync(file, "utf8")))
    .map((file) => relative(".", file).split("\\").join("/")),
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
