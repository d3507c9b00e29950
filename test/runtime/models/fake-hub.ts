import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/**
 * A loopback stand-in for the Hugging Face Hub, serving one repo from a directory the way the Hub's
 * endpoints do for @huggingface/hub: model info (`/api/models/<repo>/revision/<rev>` with `sha`), the tree
 * listing (`/api/models/<repo>/tree/<rev>`, LFS entries with their sha256 oid, small files with their git
 * blob sha1), and `/<repo>/resolve/<rev>/<path>`, which for LFS files answers 302 to a CDN path with
 * X-Linked-ETag / X-Linked-Size, and everywhere honours `Range: bytes=a-b` with 206 + Content-Range.
 * Faults for tests: cut a file's body after N bytes (once), or corrupt a file's bytes.
 */

export interface FakeHubFile {
  path: string;
  data: Buffer;
  lfs: boolean;
  sha256: string;
  gitSha1: string;
}

export interface FakeHubRequest {
  method: string;
  url: string;
  range?: string | undefined;
}

export class FakeHub {
  readonly requests: FakeHubRequest[] = [];
  readonly files: FakeHubFile[];
  /** path → bytes after which the next body of that file is cut (then the fault clears). */
  readonly cutOnce = new Map<string, number>();
  /** paths whose served bytes are corrupted (one byte flipped) while the listing keeps the true hash. */
  readonly corrupt = new Set<string>();
  bytesServed = 0;
  private server: Server | undefined;
  url = "";

  constructor(
    readonly repo: string,
    dir: string,
    readonly commit = "0123456789abcdef0123456789abcdef01234567",
  ) {
    this.files = readdirSync(dir)
      .filter((name) => !name.startsWith("."))
      .map((path) => {
        const data = readFileSync(join(dir, path));
        return {
          path,
          data,
          // The Hub stores weights (and anything large) in LFS; config and tokenizer files are plain git blobs.
          lfs: path.endsWith(".safetensors") || data.length > 1_000_000,
          sha256: createHash("sha256").update(data).digest("hex"),
          gitSha1: createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex"),
        };
      });
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private revisionOk(revision: string): boolean {
    return revision === "main" || revision === this.commit;
  }

  private handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? "/", "http://hub");
    this.requests.push({ method: req.method ?? "GET", url: url.pathname, range: req.headers.range });
    const path = decodeURIComponent(url.pathname);
    const info = path.match(/^\/api\/models\/(.+)\/revision\/([^/]+)$/);
    if (info) {
      if (info[1] !== this.repo || !this.revisionOk(info[2]!)) return this.notFound(res, "RepoNotFound");
      return this.json(res, {
        _id: "fake",
        id: this.repo,
        sha: this.commit,
        private: false,
        gated: false,
        downloads: 0,
        likes: 0,
        lastModified: "2026-01-01T00:00:00.000Z",
        pipeline_tag: "image-text-to-text",
      });
    }
    const tree = path.match(/^\/api\/models\/(.+)\/tree\/([^/]+)$/);
    if (tree) {
      if (tree[1] !== this.repo || !this.revisionOk(tree[2]!)) return this.notFound(res, "RepoNotFound");
      return this.json(
        res,
        this.files.map((file) => ({
          type: "file",
          path: file.path,
          size: file.lfs ? 134 : file.data.length,
          oid: file.gitSha1,
          ...(file.lfs ? { lfs: { oid: file.sha256, size: file.data.length, pointerSize: 134 } } : {}),
        })),
      );
    }
    const resolve = path.match(/^\/(.+)\/resolve\/([^/]+)\/(.+)$/);
    if (resolve) {
      const file = this.files.find((candidate) => candidate.path === resolve[3]);
      if (resolve[1] !== this.repo || !this.revisionOk(resolve[2]!) || !file)
        return this.notFound(res, "EntryNotFound");
      if (file.lfs) {
        res.writeHead(302, {
          Location: `${this.url}/cdn/${file.sha256}`,
          "X-Linked-ETag": `"${file.sha256}"`,
          "X-Linked-Size": String(file.data.length),
          ETag: `"${file.gitSha1}"`,
        });
        res.end();
        return true;
      }
      return this.body(req, res, file, file.gitSha1);
    }
    const cdn = path.match(/^\/cdn\/([0-9a-f]{64})$/);
    if (cdn) {
      const file = this.files.find((candidate) => candidate.sha256 === cdn[1]);
      if (!file) return this.notFound(res, "EntryNotFound");
      return this.body(req, res, file, file.sha256);
    }
    return this.notFound(res, "NotFound");
  }

  private body(req: IncomingMessage, res: ServerResponse, file: FakeHubFile, etag: string): boolean {
    let data = file.data;
    if (this.corrupt.has(file.path)) {
      data = Buffer.from(data);
      data[Math.floor(data.length / 2)] ^= 0xff;
    }
    let start = 0;
    let end = data.length - 1;
    const range = req.headers.range?.match(/^bytes=(\d+)-(\d*)$/);
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
    }
    const slice = data.subarray(start, end + 1);
    const headers: Record<string, string> = {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(slice.length),
      ETag: `"${etag}"`,
      "Accept-Ranges": "bytes",
    };
    if (range) headers["Content-Range"] = `bytes ${start}-${end}/${data.length}`;
    res.writeHead(range ? 206 : 200, headers);
    const cut = this.cutOnce.get(file.path);
    if (cut !== undefined && slice.length > cut && !(range && end === start)) {
      this.cutOnce.delete(file.path);
      this.bytesServed += cut;
      res.write(slice.subarray(0, cut), () => res.destroy());
      return true;
    }
    this.bytesServed += slice.length;
    res.end(slice);
    return true;
  }

  private json(res: ServerResponse, value: unknown): boolean {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(value));
    return true;
  }

  private notFound(res: ServerResponse, code: string): boolean {
    res.writeHead(404, { "Content-Type": "application/json", "X-Error-Code": code });
    res.end(JSON.stringify({ error: code }));
    return true;
  }
}
