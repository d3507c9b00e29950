import type { Page } from "playwright-core";
import type { z } from "zod";
import { backendLocateModel, locate as locateInImage } from "../agent/locate.js";
import { SquintError, toSquintError } from "../errors.js";
import type { Backend } from "../runtime/backend.js";
import type { LocateModel, OcrFunction } from "../tools/context.js";
import sharp from "sharp";
import {
  applyToPoint,
  type Box,
  type BoxTuple,
  boxArea,
  boxCenter,
  boxToTuple,
  type Point,
  type PointTuple,
  invert,
  pointToTuple,
  scaling,
} from "../tools/geometry.js";
import { textTarget } from "../tools/locate.js";
import { defaultOcrFunction } from "../tools/ocr/index.js";
import type { OcrResult } from "../tools/ocr/types.js";
import type { RawImage } from "../model/vision.js";
import { ImageStore, type StoredImage } from "../tools/store/image-store.js";
import {
  boxToScreenshot,
  boxToViewport,
  type Capture,
  capture,
  pointToScreenshot,
  pointToViewport,
} from "./capture.js";
import { assertionPrompt, queryPrompt, readQueryAnswer, readVerdict, type Verdict } from "./judge.js";
import { isPlaywrightPage, pageScreen } from "./page-screen.js";
import { compareFingerprints, fingerprint, screenChanged } from "./pixel-check.js";
import type { ElementHit, ElementInfo, Screen } from "./screen.js";
import { matchesText, normaliseText } from "./text-match.js";
import {
  type CacheEntry,
  type CacheOutcome,
  type CacheStats,
  TargetCache,
  type TargetCacheOptions,
} from "./target-cache.js";
import { GuiTrace, type GuiTraceOptions, type TraceCheck, type TraceShot, type TraceStep } from "./trace.js";

/**
 * `gui(page)`: drive a user interface by what it looks like. Every action locates its target on a fresh
 * screenshot (OCR for visible text, the model for anything else), maps the box from screenshot pixels to the
 * screen's logical pixels through a scale measured on that screenshot, checks that what is under the point is
 * what was located, acts, and checks that the screen changed when it should have. Each step goes into a trace
 * with its screenshot; a failed check is an ACTION_NOT_VERIFIED error that points to it.
 */

export interface GuiOptions {
  /** A vision-language backend for descriptions, icons, assertions and queries; text works without one (OCR). */
  model?: Backend;
  /** A target cache file (or its options); off by default. */
  cache?: string | TargetCacheOptions | false;
  /** Wait this long after each action before looking again (default 100 ms). */
  settleMs?: number;
  /** Check every action (default true); each action can also say. */
  verify?: boolean;
  /** Write the trace to this folder as the run goes, or keep `maxSteps` in memory (default 50) for writeTrace. */
  trace?: string | GuiTraceOptions;
  /** OCR for text targets (default: the built-in PP-OCR engine). */
  ocr?: OcrFunction;
  /** What identifies the page in cache keys (default: the screen's key(), e.g. the URL without its fragment). */
  pageKey?: string;
  /** Where screenshots are decoded (default: a store of its own). */
  store?: ImageStore;
  /** Most tokens the model may write per locate/assert/query answer (default 1024). */
  maxOutputTokens?: number;
  /**
   * OCR reads the screenshot at no more than this many pixels per logical pixel: a DPR-3 screenshot read at
   * scale 1.5 costs a quarter as much, and screen text is large enough at that size. Default: every pixel.
   */
  ocrMaxScale?: number;
  /** Stops what is under way (a locate, a model call, a waitFor) with an ABORTED error. */
  abortSignal?: AbortSignal;
}

export type LocateMethod = "auto" | "ocr" | "model";

export interface GuiLocateOptions {
  /** Look again inside a crop around the first answer (model only; default: for small targets on large screens). */
  deep?: boolean;
  /** Return every match in `matches` (the cache is not used). */
  all?: boolean;
  /** auto (default): the model when there is one, else OCR. */
  method?: LocateMethod;
  /** Use the cache for this target (default true when the gui has one). */
  cache?: boolean;
}

export interface GuiMatch {
  box: BoxTuple;
  center: PointTuple;
  text?: string;
}

export interface Located {
  found: boolean;
  query: string;
  /** [x1, y1, x2, y2] in the screen's logical pixels (CSS pixels of a page). */
  box?: BoxTuple;
  /** Where an action aims, in logical pixels. */
  center?: PointTuple;
  /** Screenshot pixels per logical pixel, measured on the screenshot this was located on. */
  scale: number;
  method: "ocr" | "model" | "cache";
  /** Whether the document agrees: the element under the centre is the located one (pages only). */
  verified: boolean;
  /** What OCR read there (OCR matches). */
  text?: string;
  /** The element under the centre (pages). */
  element?: ElementInfo;
  cache: CacheOutcome;
  checks: TraceCheck[];
  /** With `all`: every match, best first. */
  matches?: GuiMatch[];
  modelCalls: number;
}

export interface ActionOptions extends GuiLocateOptions {
  /** Check this action (default: the gui's `verify`). */
  verify?: boolean;
  /** Fail unless the screen changes (default: false for click, hover and press; true for type and scroll). */
  expectChange?: boolean;
}

export interface TypeOptions extends ActionOptions {
  /** replace (default) selects what the field holds first; append types after it. */
  mode?: "replace" | "append";
}

export interface ScrollOptions extends ActionOptions {
  dx?: number;
  /** Logical pixels down (default: 80% of the screen's height). */
  dy?: number;
}

export interface ActionResult {
  action: "click" | "type" | "hover" | "scroll" | "press";
  query?: string;
  /** Where it acted, in logical pixels. */
  point?: PointTuple;
  box?: BoxTuple;
  /** What was under the point (pages). */
  hit?: ElementHit;
  verified: boolean;
  checks: TraceCheck[];
  method?: Located["method"];
  cache: CacheOutcome;
  scale?: number;
  /** Milliseconds: locate (screenshot included), act, verify, total. */
  ms: Record<string, number>;
  /** The trace step that recorded it. */
  traceStep: number;
}

export interface GuiStats {
  modelCalls: number;
  ocrReads: number;
  cache: CacheStats | undefined;
}

export interface WaitForOptions {
  /** Default 15 000 ms. */
  timeoutMs?: number;
  /** Between looks (default 1 000 ms). */
  intervalMs?: number;
}

const DEFAULT_SETTLE_MS = 100;

/** Where the match sits relative to what is under its centre. */
const MIN_OVERLAP = 0.5;
/** A non-actionable element this much larger than the match is the background, not the target. */
const MIN_BACKGROUND_SHARE = 0.02;

interface Internal {
  shot: Capture;
  boxPx?: Box;
  hit?: ElementHit;
  textTarget?: string;
}

function quoted(query: string): string {
  return /^["“'‘]/u.test(query) ? query : `"${query}"`;
}

function intersection(p: Box, q: Box): number {
  return boxArea({
    x1: Math.max(p.x1, q.x1),
    y1: Math.max(p.y1, q.y1),
    x2: Math.min(p.x2, q.x2),
    y2: Math.min(p.y2, q.y2),
  });
}

function describeElement(info: ElementInfo): string {
  return `<${info.tag}>${info.role ? ` ${info.role}` : ""} "${info.name.slice(0, 60)}" (${info.selector})`;
}

/** Is the element under the point the one that was located? Geometry, and text when the target is text. */
export function checkHit(box: Box, hit: ElementHit | undefined, text: string | undefined): TraceCheck[] {
  if (!hit) return [{ name: "element", ok: false, detail: "nothing is under the point" }];
  const target = hit.target;
  const shared = intersection(box, target.box);
  const ofMatch = boxArea(box) > 0 ? shared / boxArea(box) : 0;
  const ofTarget = boxArea(target.box) > 0 ? shared / boxArea(target.box) : 0;
  const overlaps = ofMatch >= MIN_OVERLAP || ofTarget >= MIN_OVERLAP;
  // Not a control, yet it holds some: the point fell between the controls of a toolbar or a form.
  const between = !target.actionable && target.controls > 0;
  const background = !target.actionable && ofTarget < MIN_BACKGROUND_SHARE;
  const checks: TraceCheck[] = [
    {
      name: "element",
      ok: overlaps && !background && !between,
      detail: between
        ? `the point is on ${describeElement(target)}, between the controls it holds, not on one of them`
        : background
          ? `the point is on ${describeElement(target)}, a large non-interactive element: the background, not the target`
          : overlaps
            ? `${describeElement(target)} holds the located box`
            : `${describeElement(target)} is not where the target was located (${Math.round(ofMatch * 100)}% overlap)`,
    },
  ];
  if (text !== undefined) {
    const said = [target.name, target.text, hit.element.name, hit.element.text].join(" ");
    const ok = matchesText(said, text);
    checks.push({
      name: "text",
      ok,
      detail: ok
        ? `the element says "${text}"`
        : `the element under the point says "${said.trim().slice(0, 80)}", not "${text}"`,
    });
  }
  return checks;
}

export class Gui {
  readonly screen: Screen;
  readonly trace: GuiTrace;
  readonly #options: GuiOptions;
  readonly #store: ImageStore;
  readonly #cache: Promise<TargetCache | undefined>;
  readonly #model: LocateModel | undefined;
  /** The OCR function locate uses, remembering what it read per screenshot so matches can be ranked by line. */
  readonly #ocr: OcrFunction;
  readonly #readings = new WeakMap<RawImage, Promise<OcrResult>>();
  readonly #internal = new WeakMap<Located, Internal>();
  #modelCalls = 0;
  #ocrReads = 0;
  #cacheStats: CacheStats | undefined;

  constructor(screen: Screen, options: GuiOptions = {}) {
    this.screen = screen;
    this.#options = options;
    this.#store = options.store ?? new ImageStore();
    this.trace = new GuiTrace(typeof options.trace === "string" ? { dir: options.trace } : (options.trace ?? {}));
    this.#model = options.model ? backendLocateModel(options.model, options.maxOutputTokens ?? 1024) : undefined;
    const ocr = options.ocr ?? defaultOcrFunction();
    this.#ocr = (image, signal) => {
      const known = this.#readings.get(image);
      if (known) return known;
      const reading = ocr(image, signal);
      this.#readings.set(image, reading);
      reading.catch(() => this.#readings.delete(image));
      return reading;
    };
    const cacheOptions = typeof options.cache === "string" ? { path: options.cache } : options.cache || undefined;
    this.#cache = cacheOptions ? TargetCache.open(cacheOptions) : Promise.resolve(undefined);
    this.#cache.then((cache) => (this.#cacheStats = cache?.stats)).catch(() => undefined);
    if (options.ocrMaxScale !== undefined && !(options.ocrMaxScale > 0)) {
      throw new SquintError("INVALID_ARGUMENT", `ocrMaxScale must be a number > 0; got ${options.ocrMaxScale}.`, {
        hint: "Leave it out to read every pixel, or give e.g. 1.5.",
      });
    }
    const settle = options.settleMs ?? DEFAULT_SETTLE_MS;
    if (!Number.isFinite(settle) || settle < 0) {
      throw new SquintError("INVALID_ARGUMENT", `settleMs must be a number ≥ 0; got ${settle}.`, {
        hint: "Leave it out for 100 ms.",
      });
    }
  }

  get stats(): GuiStats {
    return { modelCalls: this.#modelCalls, ocrReads: this.#ocrReads, cache: this.#cacheStats };
  }

  async #pageKey(): Promise<string> {
    if (this.#options.pageKey !== undefined) return this.#options.pageKey;
    return (await this.screen.key?.()) ?? "screen";
  }

  #settle(): Promise<void> {
    const ms = this.#options.settleMs ?? DEFAULT_SETTLE_MS;
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }

  #shotForTrace(shot: Capture): TraceShot {
    return { bytes: shot.bytes, width: shot.image.width, height: shot.image.height };
  }

  /** Finds `query` on a fresh screenshot; `found: false` when it is not there. */
  async locate(query: string, options: GuiLocateOptions = {}): Promise<Located> {
    const trimmed = query.trim();
    if (trimmed === "") {
      throw new SquintError("INVALID_ARGUMENT", "The target is empty.", {
        hint: 'Say what to act on, e.g. "the Save button" or the text on it.',
      });
    }
    this.#throwIfAborted();
    const shot = await capture(this.screen, this.#store);
    const cache = options.all || options.cache === false ? undefined : await this.#cache;
    let outcome: CacheOutcome = cache ? "miss" : "off";
    const page = cache ? await this.#pageKey() : "";
    const entry = cache?.lookup(trimmed, page);
    const checks: TraceCheck[] = [];
    if (cache && entry) {
      const replay = await this.#validate(entry, shot);
      checks.push(replay.check);
      if (replay.located) {
        await cache.markHit(entry);
        const located: Located = { ...replay.located, query: trimmed, checks };
        this.#internal.set(located, {
          shot,
          boxPx: boxToScreenshot(shot, replay.box),
          ...(replay.hit ? { hit: replay.hit } : {}),
        });
        return located;
      }
      cache.stats.stale++;
      outcome = "stale";
    } else if (cache) {
      cache.stats.misses++;
    }
    const located = await this.#locateFresh(trimmed, shot, options, outcome, checks);
    // Only what passed its checks is remembered (a screen without a document has none to pass).
    const checked = located.verified || this.screen.elementAt === undefined;
    if (cache && located.found && checked && located.box) {
      const internal = this.#internal.get(located)!;
      const box = { x1: located.box[0], y1: located.box[1], x2: located.box[2], y2: located.box[3] };
      const target = internal.hit?.target;
      await cache.store({
        query: trimmed,
        page,
        box,
        viewport: shot.viewport,
        method: located.method === "model" ? "model" : "ocr",
        ...(target && located.verified
          ? { element: { selector: target.selector, name: target.name, role: target.role, tag: target.tag } }
          : {}),
        look: fingerprint(shot, this.#store.pixels(shot.image.id), box),
      });
    }
    return located;
  }

  async #locateFresh(
    query: string,
    shot: Capture,
    options: GuiLocateOptions,
    cache: CacheOutcome,
    checks: TraceCheck[],
  ): Promise<Located> {
    const method = options.method ?? "auto";
    if (method === "model" && !this.#options.model) {
      throw new SquintError("MODEL_REQUIRED", `Locating ${quoted(query)} with method "model" needs a model.`, {
        hint: 'Pass gui(page, { model }) with a Backend, or use method "ocr" for visible text.',
      });
    }
    const useModel = method === "model" || (method === "auto" && this.#options.model !== undefined);
    const image = useModel ? shot.image : await this.#ocrView(shot);
    const result = await locateInImage(image.id, query, {
      store: this.#store,
      mode: useModel ? "model" : "ocr",
      ...(useModel ? { backend: this.#options.model! } : {}),
      ocr: this.#ocr,
      ...(options.deep === undefined ? {} : { deep: options.deep }),
      maxResults: 50,
      ...(this.#options.abortSignal ? { signal: this.#options.abortSignal } : {}),
    });
    this.#modelCalls += result.modelCalls;
    if (!useModel) this.#ocrReads++;
    const text = useModel ? undefined : textTarget(query);
    const wanted = text === undefined ? "" : normaliseText(text);
    // OCR matches every line that contains the text: "Save" is in "Save draft" too. A line that says exactly
    // the text comes first, then shorter lines (the match is more of what they say).
    // Lines are in the pixels OCR read; matches come in the screenshot's (through the view's lineage).
    const lines = useModel ? [] : ((await this.#readings.get(this.#store.pixels(image.id)))?.lines ?? []);
    const toRead = invert(image.toOriginal);
    const lineOf = (box: BoxTuple | undefined): string => {
      if (!box) return "";
      const c = applyToPoint(toRead, boxCenter(tupleBox(box)));
      return lines.find((l) => c.x >= l.box.x1 && c.x <= l.box.x2 && c.y >= l.box.y1 && c.y <= l.box.y2)?.text ?? "";
    };
    const ranked = useModel
      ? result.matches
      : result.matches
          .map((match, order) => ({ match, order, line: normaliseText(lineOf(match.box)) }))
          .sort(
            (p, q) =>
              Number(q.line === wanted) - Number(p.line === wanted) ||
              p.line.length - q.line.length ||
              p.order - q.order,
          )
          .map(({ match }) => match);
    const matches: (GuiMatch & { boxPx: Box })[] = ranked.map((match) => {
      const boxPx: Box = match.box
        ? { x1: match.box[0], y1: match.box[1], x2: match.box[2], y2: match.box[3] }
        : { x1: match.center[0], y1: match.center[1], x2: match.center[0], y2: match.center[1] };
      const center = pointToViewport(shot, { x: match.center[0], y: match.center[1] });
      return {
        box: boxToTuple(boxToViewport(shot, boxPx), 2),
        center: pointToTuple(center, 2),
        ...(match.text === undefined ? {} : { text: match.text }),
        boxPx,
      };
    });
    const methodName = useModel ? "model" : "ocr";
    const best = matches[0];
    if (!best) {
      const located: Located = {
        found: false,
        query,
        scale: shot.scale.x,
        method: methodName,
        verified: false,
        cache,
        checks,
        modelCalls: result.modelCalls,
        ...(options.all ? { matches: [] } : {}),
      };
      this.#internal.set(located, { shot });
      return located;
    }
    const box = { x1: best.box[0], y1: best.box[1], x2: best.box[2], y2: best.box[3] };
    const center = boxCenter(box);
    const hit = this.screen.elementAt ? await this.screen.elementAt(center.x, center.y) : undefined;
    const hitChecks = this.screen.elementAt ? checkHit(box, hit, text) : [];
    checks.push(...hitChecks);
    const verified = hitChecks.length > 0 && hitChecks.every((c) => c.ok);
    const located: Located = {
      found: true,
      query,
      box: best.box,
      center: pointToTuple(center, 2),
      scale: shot.scale.x,
      method: methodName,
      verified,
      ...(best.text === undefined ? {} : { text: best.text }),
      ...(hit ? { element: hit.target } : {}),
      cache,
      checks,
      ...(options.all ? { matches: matches.map(({ boxPx: _, ...m }) => m) } : {}),
      modelCalls: result.modelCalls,
    };
    this.#internal.set(located, {
      shot,
      boxPx: best.boxPx,
      ...(hit ? { hit } : {}),
      ...(text === undefined ? {} : { textTarget: text }),
    });
    return located;
  }

  /** The screenshot as OCR reads it: itself, or a smaller copy (with its lineage) under ocrMaxScale. */
  async #ocrView(shot: Capture): Promise<StoredImage> {
    const max = this.#options.ocrMaxScale;
    if (max === undefined || shot.scale.x <= max) return shot.image;
    const width = Math.max(1, Math.round(shot.viewport.width * max));
    const height = Math.max(1, Math.round(shot.viewport.height * max));
    const source = this.#store.pixels(shot.image.id);
    const channels = Math.round(source.data.length / (source.width * source.height)) as 1 | 2 | 3 | 4;
    const { data, info } = await sharp(source.data, { raw: { width: source.width, height: source.height, channels } })
      .resize(width, height, { kernel: "lanczos3" })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const pixels = {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
    return this.#store.derive(shot.image.id, pixels, {
      operation: "resize",
      toParent: scaling(shot.image.width / info.width, shot.image.height / info.height),
      label: "read by OCR",
    });
  }

  /**
   * Is a cached target still there? On a page: its selector names an element with the same accessible name and
   * role, and that element is what is under its centre now (the box is the element's current one, so a moved
   * button is still found). Elsewhere: the pixels around the box look as they did.
   */
  async #validate(
    entry: CacheEntry,
    shot: Capture,
  ): Promise<{ check: TraceCheck; located?: Omit<Located, "query" | "checks">; box: Box; hit?: ElementHit }> {
    if (entry.element && this.screen.resolve && this.screen.elementAt) {
      const now = await this.screen.resolve(entry.element.selector);
      const fail = (detail: string) => ({ check: { name: "cache" as const, ok: false, detail }, box: entry.box });
      if (!now) return fail(`${entry.element.selector} no longer names an element`);
      if (normaliseText(now.name) !== normaliseText(entry.element.name) || now.role !== entry.element.role) {
        return fail(
          `${entry.element.selector} is now <${now.tag}> "${now.name.slice(0, 60)}", not "${entry.element.name.slice(0, 60)}"`,
        );
      }
      if (boxArea(now.box) <= 0) return fail(`${entry.element.selector} is not visible`);
      const center = boxCenter(now.box);
      const hit = await this.screen.elementAt(center.x, center.y);
      if (!hit || hit.target.selector !== now.selector) {
        return fail(`${entry.element.selector} is covered by ${hit ? describeElement(hit.target) : "nothing"}`);
      }
      return {
        check: {
          name: "cache",
          ok: true,
          detail: `${entry.element.selector} still names "${entry.element.name.slice(0, 60)}"`,
        },
        box: now.box,
        hit,
        located: {
          found: true,
          box: boxToTuple(now.box, 2),
          center: pointToTuple(center, 2),
          scale: shot.scale.x,
          method: "cache",
          verified: true,
          element: hit.target,
          cache: "hit",
          modelCalls: 0,
        },
      };
    }
    const sameSize =
      Math.abs(entry.viewport.width - shot.viewport.width) < 0.5 &&
      Math.abs(entry.viewport.height - shot.viewport.height) < 0.5;
    const comparison = sameSize
      ? compareFingerprints(entry.look, fingerprint(shot, this.#store.pixels(shot.image.id), entry.box))
      : undefined;
    if (!comparison?.match) {
      return {
        check: {
          name: "cache",
          ok: false,
          detail: comparison
            ? `the pixels around the cached box changed (mean ${comparison.meanDiff}, max ${comparison.maxDiff})`
            : "the screen's size changed",
        },
        box: entry.box,
      };
    }
    return {
      check: {
        name: "cache",
        ok: true,
        detail: `the pixels around the cached box match (mean ${comparison.meanDiff})`,
      },
      box: entry.box,
      located: {
        found: true,
        box: boxToTuple(entry.box, 2),
        center: pointToTuple(boxCenter(entry.box), 2),
        scale: shot.scale.x,
        method: "cache",
        verified: false,
        cache: "hit",
        modelCalls: 0,
      },
    };
  }

  async #resolveTarget(target: string | Located, options: GuiLocateOptions): Promise<Located> {
    return typeof target === "string" ? this.locate(target, options) : target;
  }

  /** Records a failed step and throws its error. */
  async #fail(
    base: Omit<TraceStep, "index" | "at" | "ok" | "error">,
    code: "NOT_FOUND" | "ACTION_NOT_VERIFIED",
    message: string,
    hint: string,
  ): Promise<never> {
    const index = this.trace.nextIndex;
    const screenshot = this.trace.shotPath(index, base.after ? "after" : "before");
    await this.trace.add({ ...base, ok: false, error: { code, message } });
    throw new SquintError(code, message, {
      hint,
      details: {
        traceStep: index,
        ...(screenshot ? { screenshot } : {}),
        checks: base.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
      },
    });
  }

  async #act(
    action: ActionResult["action"],
    target: string | Located | undefined,
    options: ActionOptions,
    expectChangeByDefault: boolean,
    perform: (point: Point | undefined, located: Located | undefined) => Promise<void>,
    changeRegion?: (located: Located | undefined, hit: ElementHit | undefined) => Box | undefined,
  ): Promise<ActionResult> {
    const started = performance.now();
    const verify = options.verify ?? this.#options.verify ?? true;
    const located = target === undefined ? undefined : await this.#resolveTarget(target, options);
    const locatedAt = performance.now();
    const internal = located ? this.#internal.get(located) : undefined;
    const shot = internal?.shot ?? (await capture(this.screen, this.#store));
    const checks: TraceCheck[] = [...(located?.checks ?? [])];
    const base = {
      action,
      ...(located ? { query: located.query, method: located.method, cache: located.cache } : {}),
      scale: shot.scale.x,
      before: this.#shotForTrace(shot),
      ...(internal?.boxPx ? { box: internal.boxPx } : {}),
      checks,
    };
    if (located && !located.found) {
      return this.#fail(
        { ...base, ms: { locate: locatedAt - started } },
        "NOT_FOUND",
        `${quoted(located.query)} is not on the screen.`,
        this.#options.model
          ? "Describe it differently, scroll it into view, or wait for it (ui.waitFor)."
          : "Without a model only visible text can be found: quote the text on it, or pass gui(page, { model }).",
      );
    }
    const point = located?.center ? { x: located.center[0], y: located.center[1] } : undefined;
    const pointPx = point ? pointToScreenshot(shot, point) : undefined;
    let hit = internal?.hit;
    // A target handed in from an earlier locate may have moved since: look again at what is under the point.
    if (point && this.screen.elementAt && target !== undefined && typeof target !== "string") {
      hit = await this.screen.elementAt(point.x, point.y);
      const box = { x1: located!.box![0], y1: located!.box![1], x2: located!.box![2], y2: located!.box![3] };
      checks.splice(0, checks.length, ...checkHit(box, hit, internal?.textTarget));
    }
    const stepBase = { ...base, ...(pointPx ? { point: pointPx } : {}), ...(hit ? { hit } : {}) };
    if (verify && checks.some((c) => !c.ok && c.name !== "cache")) {
      const failed = checks.filter((c) => !c.ok && c.name !== "cache").map((c) => c.detail);
      return this.#fail(
        { ...stepBase, ms: { locate: locatedAt - started } },
        "ACTION_NOT_VERIFIED",
        `Did not ${action} ${quoted(located?.query ?? "")}: ${failed.join("; ")}.`,
        "Nothing was clicked. See the trace step's screenshot; describe the target more precisely, or pass { verify: false } to act anyway.",
      );
    }
    const beforeAct = performance.now();
    try {
      await perform(point, located);
    } catch (error) {
      throw toSquintError(error, "TOOL_FAILED");
    }
    await this.#settle();
    const acted = performance.now();
    const expectChange = options.expectChange ?? expectChangeByDefault;
    let after: Capture | undefined;
    if (verify && expectChange) {
      after = await capture(this.screen, this.#store);
      const region = changeRegion?.(located, hit);
      const report = screenChanged(
        { shot, pixels: this.#store.pixels(shot.image.id) },
        { shot: after, pixels: this.#store.pixels(after.image.id) },
        region,
      );
      checks.push({
        name: "changed",
        ok: report.changed,
        detail: report.changed
          ? `${report.changedPixels} pixels changed${region ? " in the target" : ""}`
          : `nothing changed${region ? " in the target" : " on the screen"}`,
      });
      if (!report.changed) {
        return this.#fail(
          {
            ...stepBase,
            after: this.#shotForTrace(after),
            ms: { locate: locatedAt - started, act: acted - beforeAct },
          },
          "ACTION_NOT_VERIFIED",
          `After ${action}${located ? ` on ${quoted(located.query)}` : ""} the screen did not change.`,
          "The action may not have taken effect; see the trace step's screenshots. Raise settleMs if the page is slow, or pass { expectChange: false }.",
        );
      }
    }
    const ms = {
      locate: locatedAt - started,
      act: acted - beforeAct,
      verify: performance.now() - acted + (beforeAct - locatedAt),
      total: performance.now() - started,
    };
    const verified =
      verify && checks.filter((c) => c.name !== "cache").length > 0 && checks.every((c) => c.ok || c.name === "cache");
    const step = await this.trace.add({
      ...stepBase,
      ...(after ? { after: this.#shotForTrace(after) } : {}),
      ok: true,
      ms,
    });
    return {
      action,
      ...(located ? { query: located.query, method: located.method } : {}),
      ...(point ? { point: pointToTuple(point, 2) } : {}),
      ...(located?.box ? { box: located.box } : {}),
      ...(hit ? { hit } : {}),
      verified,
      checks,
      cache: located?.cache ?? "off",
      scale: shot.scale.x,
      ms,
      traceStep: step.index,
    };
  }

  /** Clicks the target's centre, after checking that it is what is under the point. */
  click(target: string | Located, options: ActionOptions = {}): Promise<ActionResult> {
    return this.#act("click", target, options, false, async (point) => {
      await this.screen.click(point!.x, point!.y);
    });
  }

  /** Clicks the field, selects what it holds (mode replace) and types; checks that the field changed. */
  type(target: string | Located, text: string, options: TypeOptions = {}): Promise<ActionResult> {
    return this.#act(
      "type",
      target,
      options,
      text.length > 0,
      async (point) => {
        await this.screen.click(point!.x, point!.y);
        if ((options.mode ?? "replace") === "replace" && this.screen.press) {
          await this.screen.press("ControlOrMeta+A");
          await this.screen.press("Backspace");
        }
        await this.screen.type(text);
      },
      (located, hit) => hit?.target.box ?? (located?.box ? tupleBox(located.box) : undefined),
    );
  }

  hover(target: string | Located, options: ActionOptions = {}): Promise<ActionResult> {
    const move = this.screen.move;
    if (!move) return Promise.reject(unsupported("hover", "move"));
    return this.#act("hover", target, options, false, async (point) => {
      await move.call(this.screen, point!.x, point!.y);
    });
  }

  /** Scrolls with the pointer over the target (or the middle of the screen); checks that the screen moved. */
  scroll(target?: string | Located, options: ScrollOptions = {}): Promise<ActionResult> {
    const scroll = this.screen.scroll;
    if (!scroll) return Promise.reject(unsupported("scroll", "scroll"));
    return this.#act("scroll", target, options, true, async (point) => {
      const size = await this.screen.size();
      const at = point ?? { x: size.width / 2, y: size.height / 2 };
      await scroll.call(this.screen, at.x, at.y, options.dx ?? 0, options.dy ?? Math.round(size.height * 0.8));
    });
  }

  /** Presses a key or chord (Playwright's names: "Enter", "Tab", "ControlOrMeta+A"), on what has the focus. */
  press(key: string, options: ActionOptions = {}): Promise<ActionResult> {
    const press = this.screen.press;
    if (!press) return Promise.reject(unsupported("press", "press"));
    if (key.trim() === "") {
      return Promise.reject(
        new SquintError("INVALID_ARGUMENT", "The key is empty.", { hint: 'Name a key, e.g. "Enter".' }),
      );
    }
    return this.#act("press", undefined, options, false, async () => {
      await press.call(this.screen, key);
    });
  }

  #throwIfAborted(): void {
    if (this.#options.abortSignal?.aborted) {
      throw new SquintError("ABORTED", "The GUI run was aborted.", { hint: "Start a new run if you still want it." });
    }
  }

  #needModel(what: string): LocateModel {
    if (!this.#model) {
      throw new SquintError("MODEL_REQUIRED", `${what} needs a vision model.`, {
        hint: "Pass gui(page, { model }) with a Backend (createLocalBackend or createRemoteBackend).",
      });
    }
    return this.#model;
  }

  async #ask(what: string, prompt: string): Promise<{ reply: string; shot: Capture }> {
    const model = this.#needModel(what);
    this.#throwIfAborted();
    const shot = await capture(this.screen, this.#store);
    this.#modelCalls++;
    const reply = await model(this.#store.pixels(shot.image.id), prompt, this.#options.abortSignal);
    return { reply, shot };
  }

  /** Asks the model whether `statement` holds on the screen now: { pass, reason }. */
  async assert(statement: string): Promise<Verdict> {
    const started = performance.now();
    const { reply, shot } = await this.#ask("ui.assert", assertionPrompt(statement));
    const verdict = readVerdict(reply);
    await this.trace.add({
      action: "assert",
      query: statement,
      ok: verdict.pass,
      method: "model",
      scale: shot.scale.x,
      before: this.#shotForTrace(shot),
      checks: [{ name: "text", ok: verdict.pass, detail: verdict.reason }],
      ms: { total: performance.now() - started },
    });
    return verdict;
  }

  /** Asks again every `intervalMs` until `statement` holds; WAIT_TIMEOUT with the last reason when it never does. */
  async waitFor(statement: string, options: WaitForOptions = {}): Promise<Verdict> {
    const timeoutMs = options.timeoutMs ?? 15_000;
    const intervalMs = options.intervalMs ?? 1_000;
    if (!(timeoutMs >= 0) || !(intervalMs >= 0)) {
      throw new SquintError("INVALID_ARGUMENT", "timeoutMs and intervalMs must be numbers ≥ 0.", {
        hint: "Leave them out for 15 000 and 1 000 ms.",
      });
    }
    this.#needModel("ui.waitFor");
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const verdict = await this.assert(statement);
      if (verdict.pass) return verdict;
      if (performance.now() + intervalMs > deadline) {
        throw new SquintError(
          "WAIT_TIMEOUT",
          `${quoted(statement)} was still false after ${timeoutMs} ms: ${verdict.reason}`,
          {
            hint: "Wait longer (timeoutMs), or check the trace's last screenshot for what the screen showed.",
            details: { traceStep: this.trace.nextIndex - 1, reason: verdict.reason },
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      this.#throwIfAborted();
    }
  }

  /** Asks the model for structured data about the screen; the answer is checked against `schema`. */
  async query<T>(schema: z.ZodType<T>, question: string): Promise<T> {
    const started = performance.now();
    const { reply, shot } = await this.#ask("ui.query", queryPrompt(question, schema));
    let ok = true;
    try {
      return readQueryAnswer(reply, schema);
    } catch (error) {
      ok = false;
      throw error;
    } finally {
      await this.trace.add({
        action: "query",
        query: question,
        ok,
        method: "model",
        scale: shot.scale.x,
        before: this.#shotForTrace(shot),
        checks: [],
        ms: { total: performance.now() - started },
      });
    }
  }

  /** Writes the trace (index.html and screenshots) to `dir`; returns the page's path. */
  writeTrace(dir: string): Promise<string> {
    return this.trace.write(dir);
  }

  /** Writes the cache file (it is also written after every change). */
  async close(): Promise<void> {
    const cache = await this.#cache;
    await cache?.flush();
  }
}

function tupleBox(box: BoxTuple): Box {
  return { x1: box[0], y1: box[1], x2: box[2], y2: box[3] };
}

function unsupported(action: string, method: string): SquintError {
  return new SquintError("INVALID_ARGUMENT", `This screen cannot ${action}: it has no ${method}() method.`, {
    hint: `Give the Screen a ${method}(…) method, or use a Playwright page.`,
  });
}

/** A GUI driver for a Playwright page or any Screen. */
export function gui(target: Page | Screen, options: GuiOptions = {}): Gui {
  if (isPlaywrightPage(target)) return new Gui(pageScreen(target), options);
  const screen = target as Partial<Screen>;
  for (const method of ["screenshot", "size", "click", "type"] as const) {
    if (typeof screen[method] !== "function") {
      throw new SquintError("INVALID_ARGUMENT", `gui() needs a Playwright page or a Screen; this has no ${method}().`, {
        hint: "Pass a Playwright Page, or an object with screenshot(), size(), click(x, y) and type(text).",
      });
    }
  }
  return new Gui(target as Screen, options);
}
