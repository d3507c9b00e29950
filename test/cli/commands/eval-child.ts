// Runs `squint eval` on a controlled scripted backend in its own process, slowly, so a test can kill it mid-run.
// argv: <suite.jsonl> <out dir> <chunk delay ms>
import { evalWithBackend, parseEvalArgs } from "../../../src/cli/commands/eval.js";
import { controlledBackend } from "../../eval/fixtures.js";
import { loopRight, directRight } from "./eval-answers.js";

const [suite, out, delay] = process.argv.slice(2) as [string, string, string];
const backend = controlledBackend(loopRight, directRight, { chunkDelayMs: Number(delay) });
const code = await evalWithBackend(backend, parseEvalArgs([suite, "--out", out, "--mode", "both"]), {
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: false,
});
process.exitCode = code;
