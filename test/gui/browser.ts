import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

/**
 * The system's Chromium (Debian's `chromium` package), never a downloaded one. Playwright gives each launch a
 * fresh temporary profile (its own --user-data-dir); the flags keep it off the network and quiet.
 */
export const chromiumPath = process.env.SQUINT_CHROMIUM ?? "/usr/bin/chromium";

export const hasChromium = existsSync(chromiumPath);

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
}

export function noteMissingChromium(): void {
  if (!hasChromium) {
    console.warn(
      `GUI tests skipped: no Chromium at ${chromiumPath} (apt-get install chromium, or set SQUINT_CHROMIUM).`,
    );
  }
}
