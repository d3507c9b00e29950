import type { Box, Size } from "../tools/geometry.js";

/**
 * What `gui()` drives: anything that can show what it looks like and take a pointer and keys. A Playwright page
 * is adapted to this (src/gui/page-screen.ts); a desktop or mobile driver implements it directly.
 *
 * Coordinates that `click`, `move` and `scroll` take are in the screen's own logical units, the space
 * `size()` measures (CSS pixels for a page, points on a desktop). The screenshot may be larger (device pixels):
 * `gui` measures the ratio on every screenshot rather than trusting a reported device-pixel ratio.
 */
export interface Screen {
  /** An encoded image (PNG or JPEG) of what is visible now. */
  screenshot(): Promise<Uint8Array>;
  /** The logical size of what the screenshot shows (the space click/move/scroll take). */
  size(): Promise<Size>;
  click(x: number, y: number): Promise<void>;
  /** Types into whatever has the focus. */
  type(text: string): Promise<void>;
  /** Moves the pointer without clicking (hover). */
  move?(x: number, y: number): Promise<void>;
  /** Scrolls by (dx, dy) logical pixels with the pointer at (x, y). */
  scroll?(x: number, y: number, dx: number, dy: number): Promise<void>;
  /** Presses a key or a chord ("Enter", "Control+A") — Playwright's key names. */
  press?(key: string): Promise<void>;
  /** The element under a point, for screens that have a document (pages). */
  elementAt?(x: number, y: number): Promise<ElementHit | undefined>;
  /** The element a selector names now, for replaying a cached target. */
  resolve?(selector: string): Promise<ElementInfo | undefined>;
  /** What identifies the page or window now (the cache key's second half), e.g. a URL without its fragment. */
  key?(): Promise<string>;
}

/** One element as the document describes it; `box` is in the screen's logical pixels. */
export interface ElementInfo {
  tag: string;
  /** The explicit `role`, else the implicit one for common tags ("button", "link", "textbox", …); "" if none. */
  role: string;
  /** The accessible name, approximated: aria-labelledby, aria-label, label, alt, placeholder, text, title. */
  name: string;
  /** A CSS selector that names this element (an id, a test id, else a path from the nearest id). */
  selector: string;
  box: Box;
  /** Whether it is something a user acts on (button, link, form control, role=button, tabindex…). */
  actionable: boolean;
  /** For an element that is not actionable itself: how many actionable elements it holds (a toolbar, a form). */
  controls: number;
  /** The visible text (and a form control's value and placeholder), trimmed to 200 characters. */
  text: string;
}

/** What is under a point: the innermost element, and the element a click there acts on. */
export interface ElementHit {
  /** The nearest actionable ancestor-or-self of `element`, else `element` itself. */
  target: ElementInfo;
  element: ElementInfo;
}
