import type { ServeApp, ServeContext } from "../server.js";

export function registerChatRoutes(_app: ServeApp, _context: ServeContext): void {}
