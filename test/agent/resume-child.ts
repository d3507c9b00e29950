/**
 * Run by snapshot.test.ts in a fresh process: resumes the snapshot file given as argv[2] with the same script
 * and prints the comparable result as JSON on stdout.
 */
import { readFile } from "node:fs/promises";
import { createAgent } from "../../src/agent/agent.js";
import { ScriptedBackend } from "../support/scripted-backend.js";
import { comparableResult, zoomTwiceScript } from "./scripts.js";

const snapshot: unknown = JSON.parse(await readFile(process.argv[2] as string, "utf8"));
const backend = new ScriptedBackend(zoomTwiceScript());
const agent = await createAgent({ model: backend });
const result = await agent.resume(snapshot).result;
process.stdout.write(
  `${JSON.stringify({ result: comparableResult(result, agent.store), requests: backend.requests.length })}\n`,
);
await agent.close();
