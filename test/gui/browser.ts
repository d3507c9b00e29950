import type { Browser } from "playwright-core";
import { CHROMIUM, hasChromium } from "../support/chromium.js";

/**
 * One browser per test file, many contexts (one per device-pixel ratio). `chromium.launch` gives each launch a
 * fresh temporary profile of its own; the flags keep the system Chromium off the network and quiet.
 */
export { hasChromium };

export const GUI_CHROMIUM_ARGS = [
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
  return chromium.launch({ executablePath: CHROMIUM, args: GUI_CHROMIUM_ARGS });
}

export function noteMissingChromium(): void {
  if (!hasChromium) {
    console.warn(`GUI tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set SQUINT_CHROMIUM).`);
  }
}
