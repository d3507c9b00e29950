#!/usr/bin/env node
// The published command runs the compiled CLI; `npm install` builds it through the `prepare` script.
import { main } from "../dist/cli/main.js";
import { relaunch, serverRelaunchEnv } from "../dist/cli/server-env.js";

const args = process.argv.slice(2);
// `squint mcp` restarts itself once with the allocator settings glibc reads only at start (src/cli/server-env.ts).
const serverEnv = serverRelaunchEnv(args, process.env, process.platform);

(serverEnv ? relaunch(serverEnv) : main(args)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
