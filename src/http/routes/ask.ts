import type { ServeApp, ServeContext } from "../server.js";

export function registerAskRoute(_app: ServeApp, _context: ServeContext): void {}
