import sharp from "sharp";
import { applyToBox } from "../../tools/geometry.js";
import type { ImageStore } from "../../tools/store/image-store.js";
import type { AgentResult } from "../run.js";
import type { TraceStep } from "../context.js";
import type { ImageEntry } from "../image-index.js";

/**
 * The trace of a run as one self-contained HTML file (no scripts, no external resources): the question and
 * answer, every image with the crops taken from it drawn as boxes on it, and each step with its reasoning,
 * answer text, tool calls, timings and token counts. Images are embedded as JPEG data URIs, downscaled.
 */

/** The colour of crop boxes (a test looks for it in a screenshot). */
export const CROP_BOX_COLOUR = "#ff00ff";
const THUMBNAIL_EDGE = 640;

export interface TraceReportOptions {
  title?: string;
  question?: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

async function dataUri(store: ImageStore, id: string): Promise<string | null> {
  try {
    const { width, height, data } = store.pixels(id);
    const scale = Math.min(1, THUMBNAIL_EDGE / Math.max(width, height));
    const jpeg = await sharp(data, { raw: { width, height, channels: 3 } })
      .resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)))
      .jpeg({ quality: 80 })
      .toBuffer();
    return `data:image/jpeg;base64,${jpeg.toString("base64")}`;
  } catch {
    // Evicted pixels: the figure says so instead of failing the report.
    return null;
  }
}

function childBoxes(entry: ImageEntry, entries: ImageEntry[], store: ImageStore): string {
  return entries
    .filter((child) => child.parentIndex === entry.index && store.has(child.storeId))
    .map((child) => {
      const info = store.get(child.storeId);
      if (info.parentId !== entry.storeId) return "";
      const box = applyToBox(info.toParent, { x1: 0, y1: 0, x2: info.width, y2: info.height });
      const label = `image ${child.index}${child.label ? `: ${child.label}` : ""}`;
      return (
        `<rect x="${box.x1.toFixed(1)}" y="${box.y1.toFixed(1)}" width="${(box.x2 - box.x1).toFixed(1)}" ` +
        `height="${(box.y2 - box.y1).toFixed(1)}" class="crop"><title>${escapeHtml(label)}</title></rect>` +
        `<text x="${box.x1.toFixed(1)}" y="${Math.max(0, box.y1 - 4).toFixed(1)}" class="crop-label">${child.index}</text>`
      );
    })
    .join("");
}

async function figure(entry: ImageEntry, entries: ImageEntry[], store: ImageStore): Promise<string> {
  const uri = await dataUri(store, entry.storeId);
  const origin =
    entry.origin === "user"
      ? "user image"
      : `${escapeHtml(entry.tool ?? "tool")} of image ${entry.parentIndex ?? "?"}${entry.bbox ? ` at [${entry.bbox.join(", ")}]` : ""}`;
  const label = entry.label ? ` — “${escapeHtml(entry.label)}”` : "";
  const state = entry.state === "full" ? "" : ` <span class="state">(${entry.state} to save visual tokens)</span>`;
  const picture = uri
    ? `<div class="frame"><img src="${uri}" alt="image ${entry.index}"><svg viewBox="0 0 ${entry.width} ${entry.height}" preserveAspectRatio="none">${childBoxes(entry, entries, store)}</svg></div>`
    : `<p class="missing">pixels no longer in the image store</p>`;
  return `<figure id="image-${entry.index}">${picture}<figcaption><b>image ${entry.index}</b> · ${entry.width}×${entry.height} · ${origin}${label}${state}</figcaption></figure>`;
}

function ms(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
}

function stepSection(step: TraceStep): string {
  const calls = step.calls
    .map(
      (call) =>
        `<tr class="${call.ok ? "ok" : "failed"}"><td>${escapeHtml(call.toolName)}</td><td><code>${escapeHtml(JSON.stringify(call.input))}</code></td>` +
        `<td>${call.ok ? "ok" : escapeHtml(call.failure ?? "failed")}</td><td>${escapeHtml(call.summary)}</td>` +
        `<td>${call.images.map((image) => `<a href="#image-${image.index}">image ${image.index}</a>`).join(" ")}</td><td>${ms(call.durationMs)}</td></tr>`,
    )
    .join("");
  const elided = step.elided.length
    ? `<ul class="elided">${step.elided.map((change) => `<li>${change.action}: ${escapeHtml(change.record)} (${change.tokensBefore} → ${change.tokensAfter} tokens)</li>`).join("")}</ul>`
    : "";
  return `<section class="step"><h3>Step ${step.step}${step.finalTurn ? " (final turn, tools disabled)" : ""}</h3>
<p class="numbers">model ${ms(step.modelMs)} · tools ${ms(step.toolMs)} · prompt ${step.inputTokens} tokens · completion ${step.outputTokens} tokens · visual ${step.visualTokens} tokens · finish ${escapeHtml(step.finishReason ?? "-")}</p>
${elided}${step.reasoning ? `<details open><summary>reasoning</summary><pre class="reasoning">${escapeHtml(step.reasoning)}</pre></details>` : ""}
${step.text ? `<pre class="text">${escapeHtml(step.text)}</pre>` : ""}
${calls ? `<table><thead><tr><th>tool</th><th>arguments</th><th>result</th><th>summary</th><th>images</th><th>time</th></tr></thead><tbody>${calls}</tbody></table>` : ""}
</section>`;
}

const style = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px}.answer{font-size:16px;background:#eef6ee;padding:8px 12px;border-left:4px solid #3a3}
.error{background:#fbeaea;border-left:4px solid #c33;padding:8px 12px}
.images{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;max-width:${THUMBNAIL_EDGE}px}
.frame{position:relative;display:inline-block;line-height:0}.frame img{max-width:100%;display:block}
.frame svg{position:absolute;left:0;top:0;width:100%;height:100%}
.crop{fill:none;stroke:${CROP_BOX_COLOUR};stroke-width:4;vector-effect:non-scaling-stroke}
.crop-label{fill:${CROP_BOX_COLOUR};font:bold 28px sans-serif}
figcaption{font-size:12px;color:#555;margin-top:4px}.state{color:#a60}
.step{border-top:1px solid #ddd;margin-top:16px}.numbers{color:#666;font-size:12px}
pre{white-space:pre-wrap;background:#f6f6f6;padding:8px}.reasoning{color:#777}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:4px 6px;vertical-align:top;text-align:left}
tr.failed td{background:#fff1f1}code{font-size:11px}`;

export async function renderTraceReport(
  result: AgentResult,
  store: ImageStore,
  options: TraceReportOptions = {},
): Promise<string> {
  const figures = await Promise.all(result.images.map((entry) => figure(entry, result.images, store)));
  const title = options.title ?? "Squint trace";
  const outcome =
    result.status === "answered"
      ? `<p class="answer">${escapeHtml(result.answer ?? "")}</p>`
      : `<p class="error">${escapeHtml(result.status)}${result.error ? `: ${escapeHtml(result.error.message)}${result.error.hint ? ` — ${escapeHtml(result.error.hint)}` : ""}` : ""}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${style}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${options.question ? `<p class="question"><b>Question:</b> ${escapeHtml(options.question)}</p>` : ""}
${outcome}
<p class="numbers">status ${escapeHtml(result.status)} · ${result.steps.length} steps · ${ms(result.elapsedMs)} · prompt ${result.usage.inputTokens} tokens · completion ${result.usage.outputTokens} tokens</p>
<h2>Images</h2><div class="images">${figures.join("")}</div>
<h2>Steps</h2>${result.steps.map(stepSection).join("")}
</body></html>
`;
}
