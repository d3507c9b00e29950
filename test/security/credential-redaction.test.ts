import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SquintError } from "../../src/errors.js";
import { redactError, redactSecrets, serverAddress } from "../../src/runtime/remote/credentials.js";
import { syntheticPhotoFile } from "../agent/fixtures.js";
import { repoRoot, runSquint, squintArgv } from "../support/cli.js";

/**
 * Issue 10: a password in `--base-url http://user:pass@host` was echoed in stderr, `--json` and `--trace`.
 * Credentials (URL user:password, API key) appear nowhere Squint writes, even when the server quotes them back.
 * Loopback only: a fake OpenAI-compatible server on 127.0.0.1.
 */

const PASSWORD = "s3cret-Passw0rd";
const API_KEY = "sk-live-0123456789abcdef";
const basic = Buffer.from(`alice:${PASSWORD}`).toString("base64");
const leaks = [PASSWORD, basic, API_KEY, encodeURIComponent(PASSWORD)];

function expectNoSecret(text: string, where: string): void {
  for (const secret of leaks) expect(text.includes(secret), `${where} contains ${secret}`).toBe(false);
}

describe("serverAddress and redactSecrets", () => {
  it("takes the credentials out of the URL and gives them back as Basic auth", () => {
    const address = serverAddress(`http://alice:${PASSWORD}@127.0.0.1:8000/v1`);
    expect(address.url).toBe("http://127.0.0.1:8000/v1");
    expect(address.basicAuthorization).toBe(`Basic ${basic}`);
    expect(serverAddress("http://127.0.0.1:8000/v1/")).toEqual({ url: "http://127.0.0.1:8000/v1/", secrets: [] });
    // A token as the user name alone is the secret.
    expect(serverAddress("https://tok-abcdef@api.example/v1").secrets).toContain("tok-abcdef");
  });

  it("redacts secrets and URL credentials in any text, and in an error's message, hint and details", () => {
    const secrets = serverAddress(`http://alice:${PASSWORD}@h/v1`).secrets;
    expect(redactSecrets(`got ${PASSWORD} and Basic ${basic} via http://bob:pw@x:1/y`, secrets)).toBe(
      "got *** and Basic *** via http://***@x:1/y",
    );
    const error = redactError(
      new SquintError("UNAUTHORIZED", `key ${API_KEY} refused`, {
        hint: `check ${API_KEY}`,
        details: { echo: [`Bearer ${API_KEY}`] },
      }),
      [API_KEY],
    );
    expectNoSecret(JSON.stringify(error) + error.message, "redacted error");
    expect(error.code).toBe("UNAUTHORIZED");
  });
});

/** A chat server that refuses everyone, quoting the credentials it got, or answers when `answer` is set. */
let server: Server;
let port: number;
const seen: string[] = [];
let answer = false;

beforeAll(async () => {
  server = createServer(async (req: IncomingMessage, res) => {
    for await (const _ of req) {
      // drain the body
    }
    const authorization = String(req.headers.authorization ?? "");
    seen.push(authorization);
    if (req.url?.endsWith("/models")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ data: [{ id: "Qwen3-VL-2B-Thinking" }] }));
      return;
    }
    if (!answer) {
      res.writeHead(401, { "content-type": "application/json" });
      const key = authorization.replace(/^(Bearer|Basic) /, "");
      const decoded = authorization.startsWith("Basic ") ? Buffer.from(key, "base64").toString() : key;
      res.end(JSON.stringify({ error: { message: `Incorrect credentials provided: ${authorization} (${decoded})` } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const delta = { choices: [{ index: 0, delta: { content: "It is red.\n</think>\n\nRed." }, finish_reason: null }] };
    res.write(`data: ${JSON.stringify(delta)}\n\n`);
    res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`);
    res.end("data: [DONE]\n\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => server.close());

describe("squint ask with credentials", () => {
  const dir = mkdtempSync(join(tmpdir(), "squint-redact-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ["a password in --base-url", () => [`http://alice:${PASSWORD}@127.0.0.1:${port}/v1`]],
    ["an --api-key", () => [`http://127.0.0.1:${port}/v1`, "--api-key", API_KEY]],
  ])(
    "shows none of %s when the server refuses and quotes it back (stderr, --json, --trace)",
    async (_name, flags) => {
      answer = false;
      const [baseUrl, ...rest] = flags();
      const image = await syntheticPhotoFile(256, 256);
      const trace = join(dir, `refused-${rest.length}.html`);
      const args = ["ask", image, "What colour?", "--base-url", baseUrl as string, "--model-name", "m", ...rest];
      const plain = await runSquint(args);
      const json = await runSquint([...args, "--json", "--trace", trace]);
      expect(plain.code).toBe(1);
      expect(plain.stderr + plain.stdout).toMatch(/UNAUTHORIZED|Incorrect credentials/);
      expectNoSecret(plain.stdout + plain.stderr, "plain output");
      expectNoSecret(json.stdout + json.stderr, "--json output");
      expectNoSecret(readFileSync(trace, "utf8"), "--trace report");
      // The credentials did reach the server (the URL's as Basic auth, undici drops them from a URL).
      expect(seen).toContain(rest.length === 0 ? `Basic ${basic}` : `Bearer ${API_KEY}`);
    },
    60_000,
  );

  it("shows no password in a successful run's --json and --trace either", async () => {
    answer = true;
    const image = await syntheticPhotoFile(256, 256);
    const trace = join(dir, "answered.html");
    const baseUrl = `http://alice:${PASSWORD}@127.0.0.1:${port}/v1`;
    const run = await runSquint([
      "ask",
      image,
      "What colour?",
      "--base-url",
      baseUrl,
      "--model-name",
      "m",
      "--json",
      "--trace",
      trace,
    ]);
    expect(run.code).toBe(0);
    expectNoSecret(run.stdout + run.stderr, "--json output");
    expectNoSecret(readFileSync(trace, "utf8"), "--trace report");
  }, 60_000);
});

describe("squint mcp with credentials", () => {
  it("logs the model it serves without the URL's password", async () => {
    const argv = squintArgv(["mcp", "--base-url", `http://alice:${PASSWORD}@127.0.0.1:${port}/v1`]);
    const child = spawn(argv.command, argv.args, { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    const logged = new Promise<void>((resolve) => {
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        if (/model: /.test(stderr)) resolve();
      });
      child.once("exit", () => resolve());
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await logged;
    child.stdin.end();
    await new Promise((resolve) => child.once("exit", resolve));
    clearTimeout(timer);
    expect(stderr).toMatch(/model: remote:vllm http:\/\/127\.0\.0\.1:\d+\/v1 \(Qwen3-VL-2B-Thinking\)/);
    expectNoSecret(stderr, "squint mcp stderr");
  }, 60_000);
});
