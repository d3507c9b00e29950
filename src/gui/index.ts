/**
 * `squint/gui`: GUI automation by what the screen looks like. `gui(page)` for a Playwright page (playwright-core
 * is an optional peer dependency: bring your own browser), `gui(screen)` for anything implementing `Screen`.
 */
export type { Capture } from "./capture.js";
export {
  type ActionOptions,
  type ActionResult,
  checkHit,
  Gui,
  type GuiLocateOptions,
  type GuiMatch,
  type GuiOptions,
  type GuiStats,
  gui,
  type Located,
  type LocateMethod,
  type ScrollOptions,
  type TypeOptions,
  type WaitForOptions,
} from "./gui.js";
export { assertionPrompt, queryPrompt, readQueryAnswer, readVerdict, type Verdict } from "./judge.js";
export { isPlaywrightPage, pageScreen } from "./page-screen.js";
export type { ElementHit, ElementInfo, Screen } from "./screen.js";
export {
  type CacheEntry,
  type CacheMode,
  type CacheOutcome,
  type CacheStats,
  TargetCache,
  type TargetCacheOptions,
} from "./target-cache.js";
export { GuiTrace, type GuiTraceOptions, renderTraceHtml, type TraceCheck, type TraceStep } from "./trace.js";
