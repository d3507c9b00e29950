import { parseLenientJsonPrefix } from "./lenient-json.js";

/**
 * Grounding answers as Qwen3-VL writes them (spec §6): `{"bbox_2d": [x1, y1, x2, y2], "label": …}` and
 * `{"point_2d": [x, y], "label": …}`, as a list or one object, usually inside a ```json fence, in 0–1000
 * units relative to the image the model looked at. Coordinates are returned as written (no clamping, no
 * reordering): mapping them to pixels is the geometry module's job.
 */

export type GroundingItem =
  | { kind: "box"; bbox: [number, number, number, number]; label?: string; imageIndex?: number; space: "rel1000" }
  | { kind: "point"; point: [number, number]; label?: string; imageIndex?: number; space: "rel1000" };

/** Every box and point found in the text, in order of appearance. */
export function parseGrounding(text: string): GroundingItem[] {
  const items: GroundingItem[] = [];
  // Fenced blocks first: their content is what the model meant as data.
  const fences = [...text.matchAll(/```[a-zA-Z]*\s*\n?([\s\S]*?)```/g)];
  const sources = fences.length > 0 ? fences.map((match) => match[1]) : [text];
  for (const source of sources) collect(source, items);
  return items;
}

/** Scans for JSON values (lists or objects) anywhere in the text and keeps the grounding-shaped ones. */
function collect(source: string, items: GroundingItem[]): void {
  let index = 0;
  while (index < source.length) {
    const next = source.slice(index).search(/[[{]/);
    if (next < 0) return;
    const start = index + next;
    let parsed: { value: unknown; end: number } | undefined;
    try {
      parsed = parseLenientJsonPrefix(source, start);
    } catch {
      parsed = undefined;
    }
    const found = parsed ? fromValue(parsed.value) : [];
    if (parsed && found.length > 0) {
      items.push(...found);
      index = parsed.end;
    } else {
      index = start + 1;
    }
  }
}

function fromValue(value: unknown): GroundingItem[] {
  if (Array.isArray(value)) return value.flatMap((entry) => (isRecord(entry) ? fromObject(entry) : []));
  return isRecord(value) ? fromObject(value) : [];
}

function fromObject(entry: Record<string, unknown>): GroundingItem[] {
  const label = typeof entry.label === "string" ? { label: entry.label } : {};
  // Which image the coordinates are relative to, when the model says (Qwen-Agent's img_idx): with crops in the
  // conversation, a box may be on a zoomed view rather than on the original.
  const index = numbers([entry.img_idx], 1)?.[0];
  const image = index !== undefined && Number.isInteger(index) && index >= 0 ? { imageIndex: index } : {};
  const box = numbers(entry.bbox_2d, 4);
  if (box)
    return [{ kind: "box", bbox: box as [number, number, number, number], ...label, ...image, space: "rel1000" }];
  const point = numbers(entry.point_2d, 2);
  if (point) return [{ kind: "point", point: point as [number, number], ...label, ...image, space: "rel1000" }];
  return [];
}

function numbers(value: unknown, length: number): number[] | undefined {
  if (!Array.isArray(value) || value.length !== length) return undefined;
  const converted = value.map((item) => (typeof item === "string" && item.trim() !== "" ? Number(item) : item));
  return converted.every((item) => typeof item === "number" && Number.isFinite(item))
    ? (converted as number[])
    : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
