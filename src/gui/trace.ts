import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Box, Point } from "../tools/geometry.js";
import type { ElementHit } from "./screen.js";

/**
 * The record of a GUI run: per action, the screenshot it acted on with the located box and the click point
 * drawn over it (in the screenshot's own pixels), what was under the point, each check and its outcome, and
 * the time spent. It renders to one HTML page with the screenshots as files beside it.
 *
 * Memory: the last `maxSteps` steps are kept with their screenshots; a run that writes to a folder as it
 * goes (`dir`) writes each step's files when the step ends, so a crash still leaves what happened.
 */

export interface TraceCheck {
  name: "element" | "text" | "changed" | "cache";
  ok: boolean;
  detail: string;
}

export interface TraceShot {
  bytes: Uint8Array;
  width: number;
  height: number;
}

export interface TraceStep {
  index: number;
  action: string;
  query?: string;
  ok: boolean;
  error?: { code: string; message: string };
  method?: string;
  cache?: string;
  /** Screenshot pixels per logical pixel (measured). */
  scale?: number;
  /** What the action acted on. */
  before?: TraceShot;
  /** What the screen showed after it, when that was checked. */
  after?: TraceShot;
  /** Located box and action point, in `before`'s pixels. */
  box?: Box;
  point?: Point;
  hit?: ElementHit;
  checks: TraceCheck[];
  ms: Record<string, number>;
  at: string;
}

export interface GuiTraceOptions {
  /** Write each step to this folder as it ends (index.html + PNGs). */
  dir?: string;
  /** Steps kept in memory, with their screenshots (default 50). */
  maxSteps?: number;
}

const DEFAULT_MAX_STEPS = 50;

export class GuiTrace {
  readonly dir: string | undefined;
  readonly #maxSteps: number;
  readonly #steps: TraceStep[] = [];
  #count = 0;
  #writing: Promise<void> = Promise.resolve();

  constructor(options: GuiTraceOptions = {}) {
    this.dir = options.dir;
    this.#maxSteps = Math.max(1, options.maxSteps ?? DEFAULT_MAX_STEPS);
  }

  /** The steps still held (the most recent `maxSteps`). */
  get steps(): readonly TraceStep[] {
    return this.#steps;
  }

  /** The number the next step will get. */
  get nextIndex(): number {
    return this.#count + 1;
  }

  async add(step: Omit<TraceStep, "index" | "at">): Promise<TraceStep> {
    const full: TraceStep = { ...step, index: ++this.#count, at: new Date().toISOString() };
    this.#steps.push(full);
    if (this.#steps.length > this.#maxSteps) this.#steps.shift();
    if (this.dir) {
      const dir = this.dir;
      this.#writing = this.#writing.then(async () => {
        await writeStep(dir, full);
        await writeIndex(dir, this.#steps);
      });
      await this.#writing;
    }
    return full;
  }

  /** The path a step's screenshot has (or will have) in `dir`. */
  shotPath(index: number, which: "before" | "after" = "before"): string | undefined {
    return this.dir ? join(this.dir, shotFile(index, which)) : undefined;
  }

  /** Writes the held steps to `dir` (index.html and the screenshots); returns the page's path. */
  async write(dir: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    for (const step of this.#steps) await writeStep(dir, step);
    return writeIndex(dir, this.#steps);
  }
}

function shotFile(index: number, which: "before" | "after"): string {
  return `step-${String(index).padStart(4, "0")}${which === "after" ? "-after" : ""}.png`;
}

async function writeStep(dir: string, step: TraceStep): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (step.before) await writeFile(join(dir, shotFile(step.index, "before")), step.before.bytes);
  if (step.after) await writeFile(join(dir, shotFile(step.index, "after")), step.after.bytes);
}

async function writeIndex(dir: string, steps: readonly TraceStep[]): Promise<string> {
  const path = join(dir, "index.html");
  await writeFile(path, renderTraceHtml(steps));
  return path;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const r1 = (v: number) => Math.round(v * 10) / 10;

function overlay(step: TraceStep, shot: TraceShot): string {
  const parts: string[] = [];
  const stroke = Math.max(2, Math.round(shot.width / 500));
  if (step.box) {
    const b = step.box;
    parts.push(
      `<rect class="box" x="${r1(b.x1)}" y="${r1(b.y1)}" width="${r1(b.x2 - b.x1)}" height="${r1(b.y2 - b.y1)}" fill="none" stroke="#e0218a" stroke-width="${stroke}"/>`,
    );
  }
  if (step.point) {
    const p = step.point;
    const r = stroke * 4;
    parts.push(
      `<circle class="point" cx="${r1(p.x)}" cy="${r1(p.y)}" r="${r}" fill="none" stroke="#00a0ff" stroke-width="${stroke}"/>`,
      `<line x1="${r1(p.x - r * 1.6)}" y1="${r1(p.y)}" x2="${r1(p.x + r * 1.6)}" y2="${r1(p.y)}" stroke="#00a0ff" stroke-width="${stroke}"/>`,
      `<line x1="${r1(p.x)}" y1="${r1(p.y - r * 1.6)}" x2="${r1(p.x)}" y2="${r1(p.y + r * 1.6)}" stroke="#00a0ff" stroke-width="${stroke}"/>`,
    );
  }
  return `<svg viewBox="0 0 ${shot.width} ${shot.height}" preserveAspectRatio="none">${parts.join("")}</svg>`;
}

function renderShot(step: TraceStep, which: "before" | "after"): string {
  const shot = which === "before" ? step.before : step.after;
  if (!shot) return "";
  const drawn = which === "before" ? overlay(step, shot) : "";
  return `<figure><div class="shot" data-width="${shot.width}" data-height="${shot.height}"><img src="${shotFile(step.index, which)}" alt="${which}">${drawn}</div><figcaption>${which} (${shot.width}×${shot.height})</figcaption></figure>`;
}

export function renderTraceHtml(steps: readonly TraceStep[]): string {
  const body = steps
    .map((step) => {
      const facts = [
        step.method ? `method ${escapeHtml(step.method)}` : "",
        step.cache && step.cache !== "off" ? `cache ${escapeHtml(step.cache)}` : "",
        step.scale ? `scale ${r1(step.scale * 100) / 100}` : "",
        ...Object.entries(step.ms).map(([k, v]) => `${escapeHtml(k)} ${Math.round(v)} ms`),
      ].filter(Boolean);
      const hit = step.hit
        ? `<p class="hit">hit: &lt;${escapeHtml(step.hit.target.tag)}&gt; role "${escapeHtml(step.hit.target.role)}" name "${escapeHtml(step.hit.target.name)}" <code>${escapeHtml(step.hit.target.selector)}</code></p>`
        : "";
      const checks = step.checks
        .map((c) => `<li class="${c.ok ? "ok" : "fail"}">${escapeHtml(c.name)}: ${escapeHtml(c.detail)}</li>`)
        .join("");
      const error = step.error
        ? `<p class="error">${escapeHtml(step.error.code)}: ${escapeHtml(step.error.message)}</p>`
        : "";
      return `<section id="step-${step.index}" class="${step.ok ? "ok" : "fail"}"><h2>${step.index}. ${escapeHtml(step.action)}${step.query ? ` “${escapeHtml(step.query)}”` : ""}</h2><p>${facts.join(" · ")}</p>${hit}${error}<ul>${checks}</ul>${renderShot(step, "before")}${renderShot(step, "after")}</section>`;
    })
    .join("\n");
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>squint gui trace</title><style>
body{font:14px system-ui,sans-serif;margin:1em;background:#fafafa}section{background:#fff;border-left:4px solid #3a3;margin:1em 0;padding:.5em 1em}
section.fail{border-color:#d22}.shot{position:relative;display:inline-block;max-width:100%}.shot img{display:block;max-width:100%}
.shot svg{position:absolute;left:0;top:0;width:100%;height:100%}figure{display:inline-block;margin:.5em}li.fail,.error{color:#b00}
</style></head><body><h1>squint gui trace</h1>
${body}
</body></html>
`;
}
