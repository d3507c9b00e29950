/**
 * Reading one large JSON-RPC line from a pipe: Squint's StdioLineTransport against the SDK's own ReadBuffer
 * (what StdioServerTransport uses), fed the same bytes in the same 64 kB chunks a Linux pipe delivers.
 * The SDK re-concatenates and re-scans its whole buffer on every chunk, so its cost grows with the square
 * of the line; a tool argument carrying a base64 image is such a line.
 *
 * "first" is the first such line a fresh process reads (each measured in its own child process: this is what
 * a server meets); "warm" is the third in a row in one process (the allocator has the memory by then).
 */
import { spawnSync } from "node:child_process";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { ReadBuffer } from "@modelcontextprotocol/sdk/shared/stdio.js";
import { StdioLineTransport } from "../../src/mcp/stdio.js";

const CHUNK = 64 * 1024;
type Reader = "sdk" | "squint";

function line(megabytes: number): Buffer {
  const image = "A".repeat(megabytes * 1024 * 1024);
  const message = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "image_info", arguments: { image } } };
  return Buffer.from(`${JSON.stringify(message)}\n`);
}

function viaSdk(data: Buffer): number {
  const buffer = new ReadBuffer({ maxBufferSize: 256 * 1024 * 1024 });
  const start = performance.now();
  let messages = 0;
  for (let at = 0; at < data.length; at += CHUNK) {
    buffer.append(data.subarray(at, at + CHUNK));
    while (buffer.readMessage() !== null) messages++;
  }
  if (messages !== 1) throw new Error("SDK ReadBuffer lost the message");
  return performance.now() - start;
}

async function viaSquint(data: Buffer): Promise<number> {
  const stdin = new PassThrough();
  const transport = new StdioLineTransport(stdin, new PassThrough(), { maxLineBytes: 256 * 1024 * 1024 });
  let messages = 0;
  transport.onmessage = () => {
    messages++;
  };
  await transport.start();
  const start = performance.now();
  for (let at = 0; at < data.length; at += CHUNK) stdin.emit("data", data.subarray(at, at + CHUNK));
  const elapsed = performance.now() - start;
  if (messages !== 1) throw new Error("StdioLineTransport lost the message");
  await transport.close();
  return elapsed;
}

async function measure(reader: Reader, megabytes: number, repeat: number): Promise<number> {
  const data = line(megabytes);
  let elapsed = 0;
  for (let run = 0; run < repeat; run++) elapsed = reader === "sdk" ? viaSdk(data) : await viaSquint(data);
  return elapsed;
}

const child = process.env.SQUINT_BENCH_CHILD;
if (child) {
  const [reader, megabytes] = child.split(":");
  process.stdout.write(String(await measure(reader as Reader, Number(megabytes), 1)));
} else {
  const first = (reader: Reader, megabytes: number): number => {
    const run = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
      env: { ...process.env, SQUINT_BENCH_CHILD: `${reader}:${megabytes}` },
      encoding: "utf8",
    });
    if (run.status !== 0) throw new Error(run.stderr);
    return Number(run.stdout);
  };
  console.log("| line | SDK first (ms) | Squint first (ms) | ratio | SDK warm (ms) | Squint warm (ms) | ratio |");
  console.log("|---|---|---|---|---|---|---|");
  for (const megabytes of [1, 4, 11]) {
    const sdkFirst = first("sdk", megabytes);
    const squintFirst = first("squint", megabytes);
    const sdkWarm = await measure("sdk", megabytes, 3);
    const squintWarm = await measure("squint", megabytes, 3);
    console.log(
      `| ${megabytes} MB | ${sdkFirst.toFixed(0)} | ${squintFirst.toFixed(0)} | ${(sdkFirst / squintFirst).toFixed(1)}× | ${sdkWarm.toFixed(0)} | ${squintWarm.toFixed(0)} | ${(sdkWarm / squintWarm).toFixed(1)}× |`,
    );
  }
}
