import { fileURLToPath } from "node:url";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { RootsListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

/**
 * The client's roots as directories. Asked lazily (on the first tool call that needs them, not at connect
 * time, so a client that answers slowly does not stall the handshake) and again after the client says they
 * changed. Only file:// roots count; a client that does not support roots, or fails to answer, has none.
 */
export class ClientRoots {
  readonly #server: Server;
  readonly #timeoutMs: number;
  #current: Promise<string[]> | undefined;

  constructor(server: Server, options: { timeoutMs?: number } = {}) {
    this.#server = server;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    server.setNotificationHandler(RootsListChangedNotificationSchema, () => {
      this.#current = undefined;
    });
  }

  directories(): Promise<string[]> {
    this.#current ??= this.#fetch();
    return this.#current;
  }

  async #fetch(): Promise<string[]> {
    if (!this.#server.getClientCapabilities()?.roots) return [];
    try {
      const { roots } = await this.#server.listRoots(undefined, { timeout: this.#timeoutMs });
      return roots.flatMap((root) => {
        if (!root.uri.startsWith("file://")) return [];
        try {
          return [fileURLToPath(root.uri)];
        } catch {
          return [];
        }
      });
    } catch {
      // Ask again next time rather than remember a failure forever.
      this.#current = undefined;
      return [];
    }
  }
}
