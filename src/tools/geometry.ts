import { SquintError } from "../errors.js";
import { roundHalfEven } from "../model/vision.js";

/**
 * All coordinate arithmetic of Squint lives here: boxes and points in named spaces, 2x3 affine transforms
 * between the pixels of an image and those of its parent, and the few roundings that must match Qwen-Agent.
 *
 * Pixel coordinates are continuous: pixel (i, j) covers [i, i+1) x [j, j+1), so an image of width W spans
 * x in [0, W]. Relative spaces scale that range: rel1000 (what Qwen3-VL speaks, x_px = x/1000·W), rel999 (the
 * GUI-agent cookbook's "999x999 screen"), unit (0–1).
 */

export type CoordinateSpace = "pixel" | "rel1000" | "rel999" | "unit";

export const coordinateSpaces: readonly CoordinateSpace[] = ["pixel", "rel1000", "rel999", "unit"];

export interface Point {
  x: number;
  y: number;
}

/** Axis-aligned box, (x1, y1) top-left, (x2, y2) bottom-right. */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface Size {
  width: number;
  height: number;
}

/** x' = a·x + b·y + c ; y' = d·x + e·y + f. Plain JSON so it can travel in tool results and snapshots. */
export interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

export type BoxTuple = [number, number, number, number];
export type PointTuple = [number, number];

export const identity: Affine = Object.freeze({ a: 1, b: 0, c: 0, d: 0, e: 1, f: 0 });

export function translation(dx: number, dy: number): Affine {
  return { a: 1, b: 0, c: dx, d: 0, e: 1, f: dy };
}

export function scaling(sx: number, sy: number): Affine {
  return { a: sx, b: 0, c: 0, d: 0, e: sy, f: 0 };
}

/**
 * Rotation by `degrees` about the origin, clockwise as seen on screen (y points down), which is the
 * direction sharp's `rotate(angle)` turns an image for a positive angle.
 */
export function rotation(degrees: number): Affine {
  const radians = (degrees * Math.PI) / 180;
  // Exact values at quarter turns keep 90° rotations free of 1e-16 noise.
  const quarter = Number.isInteger(degrees / 90);
  const cos = quarter ? Math.round(Math.cos(radians)) : Math.cos(radians);
  const sin = quarter ? Math.round(Math.sin(radians)) : Math.sin(radians);
  return { a: cos, b: -sin, c: 0, d: sin, e: cos, f: 0 };
}

/** `first` applied, then `second`: compose(A, B)(p) = B(A(p)). Chains read in the order things happen. */
export function compose(first: Affine, second: Affine): Affine {
  return {
    a: second.a * first.a + second.b * first.d,
    b: second.a * first.b + second.b * first.e,
    c: second.a * first.c + second.b * first.f + second.c,
    d: second.d * first.a + second.e * first.d,
    e: second.d * first.b + second.e * first.e,
    f: second.d * first.c + second.e * first.f + second.f,
  };
}

/** compose over a list, first to last. */
export function composeAll(transforms: readonly Affine[]): Affine {
  return transforms.reduce<Affine>((acc, t) => compose(acc, t), identity);
}

export function invert(t: Affine): Affine {
  const det = t.a * t.e - t.b * t.d;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) {
    throw new SquintError("INVALID_ARGUMENT", "This transform cannot be inverted (it collapses the image).", {
      hint: "Use a non-zero scale.",
      details: { transform: t },
    });
  }
  const a = t.e / det;
  const b = -t.b / det;
  const d = -t.d / det;
  const e = t.a / det;
  return { a, b, c: -(a * t.c + b * t.f), d, e, f: -(d * t.c + e * t.f) };
}

export function applyToPoint(t: Affine, p: Point): Point {
  return { x: t.a * p.x + t.b * p.y + t.c, y: t.d * p.x + t.e * p.y + t.f };
}

/** The axis-aligned bounds of the transformed box (exact for crops and scales; the hull for rotations). */
export function applyToBox(t: Affine, box: Box): Box {
  const corners = [
    applyToPoint(t, { x: box.x1, y: box.y1 }),
    applyToPoint(t, { x: box.x2, y: box.y1 }),
    applyToPoint(t, { x: box.x1, y: box.y2 }),
    applyToPoint(t, { x: box.x2, y: box.y2 }),
  ];
  const xs = corners.map((c) => c.x);
  const ys = corners.map((c) => c.y);
  return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) };
}

/** The child→parent transform of a crop at (left, top) whose (width × height) region became (outW × outH) pixels. */
export function cropTransform(
  region: { left: number; top: number; width: number; height: number },
  output: Size,
): Affine {
  return compose(
    scaling(region.width / output.width, region.height / output.height),
    translation(region.left, region.top),
  );
}

/**
 * Rotating an image of `size` by `degrees` clockwise onto a canvas grown to hold all of it, the way sharp
 * (libvips) does it: the canvas size and the transform from the rotated image's pixels back to the source's.
 *
 * Quarter turns are exact pixel permutations whose centres coincide. Other angles go through libvips' affine
 * resampler, which works on pixel indices (centre of pixel i at i), rotates the source's edge rectangle
 * [0, W]×[0, H] and starts the canvas at the rounded minimum of the rotated corners. Measured against sharp
 * 0.35 at 1°, 30°, 45°, −17°, 133°, 200° and 300.5°: within 0.03 px (test/tools/rotate.test.ts checks it).
 */
export function rotatedCanvas(size: Size, degrees: number): { size: Size; toSource: Affine } {
  const turn = ((degrees % 360) + 360) % 360;
  if (Number.isInteger(turn / 90)) {
    const swap = turn === 90 || turn === 270;
    const width = swap ? size.height : size.width;
    const height = swap ? size.width : size.height;
    const toSource = composeAll([
      translation(-width / 2, -height / 2),
      rotation(-turn),
      translation(size.width / 2, size.height / 2),
    ]);
    return { size: { width, height }, toSource };
  }
  const hull = applyToBox(rotation(turn), { x1: 0, y1: 0, x2: size.width, y2: size.height });
  const left = Math.round(hull.x1);
  const top = Math.round(hull.y1);
  // The canvas is the rounded hull size (checked against sharp for 78 shape/angle pairs), placed at the rounded minimum.
  const width = Math.max(1, Math.round(hull.x2 - hull.x1));
  const height = Math.max(1, Math.round(hull.y2 - hull.y1));
  // Continuous pixel coordinates are indices + 0.5: undo that shift on both sides of the index-space mapping.
  const toSource = composeAll([translation(left - 0.5, top - 0.5), rotation(-turn), translation(0.5, 0.5)]);
  return { size: { width, height }, toSource };
}

/** The number of units that span a whole side in a space; null for pixels. */
export function spaceScale(space: CoordinateSpace): number | null {
  switch (space) {
    case "pixel":
      return null;
    case "rel1000":
      return 1000;
    case "rel999":
      return 999;
    case "unit":
      return 1;
  }
}

/** The transform from a space on an image of `size` to that image's pixels. */
export function spaceToPixels(space: CoordinateSpace, size: Size): Affine {
  const scale = spaceScale(space);
  return scale === null ? identity : scaling(size.width / scale, size.height / scale);
}

export function toPixelBox(box: Box, space: CoordinateSpace, size: Size): Box {
  return applyToBox(spaceToPixels(space, size), box);
}

export function fromPixelBox(box: Box, space: CoordinateSpace, size: Size): Box {
  return applyToBox(invert(spaceToPixels(space, size)), box);
}

export function toPixelPoint(point: Point, space: CoordinateSpace, size: Size): Point {
  return applyToPoint(spaceToPixels(space, size), point);
}

export function fromPixelPoint(point: Point, space: CoordinateSpace, size: Size): Point {
  return applyToPoint(invert(spaceToPixels(space, size)), point);
}

export function boxWidth(box: Box): number {
  return box.x2 - box.x1;
}

export function boxHeight(box: Box): number {
  return box.y2 - box.y1;
}

export function boxCenter(box: Box): Point {
  return { x: (box.x1 + box.x2) / 2, y: (box.y1 + box.y2) / 2 };
}

export function boxArea(box: Box): number {
  return Math.max(0, boxWidth(box)) * Math.max(0, boxHeight(box));
}

/** Intersection over union, 0 when they do not overlap. */
export function boxIoU(p: Box, q: Box): number {
  const inter = boxArea({
    x1: Math.max(p.x1, q.x1),
    y1: Math.max(p.y1, q.y1),
    x2: Math.min(p.x2, q.x2),
    y2: Math.min(p.y2, q.y2),
  });
  const union = boxArea(p) + boxArea(q) - inter;
  return union <= 0 ? 0 : inter / union;
}

export function unionBox(boxes: readonly Box[]): Box {
  return {
    x1: Math.min(...boxes.map((b) => b.x1)),
    y1: Math.min(...boxes.map((b) => b.y1)),
    x2: Math.max(...boxes.map((b) => b.x2)),
    y2: Math.max(...boxes.map((b) => b.y2)),
  };
}

export function clampBox(box: Box, size: Size): Box {
  return {
    x1: clamp(box.x1, 0, size.width),
    y1: clamp(box.y1, 0, size.height),
    x2: clamp(box.x2, 0, size.width),
    y2: clamp(box.y2, 0, size.height),
  };
}

export function clampPoint(point: Point, size: Size): Point {
  return { x: clamp(point.x, 0, size.width), y: clamp(point.y, 0, size.height) };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** A box grown by `factor` about its centre (e.g. 3 = three times as wide and as tall), then clamped. */
export function expandBox(box: Box, factor: number, size: Size, minSide = 0): Box {
  const c = boxCenter(box);
  const halfW = Math.max(boxWidth(box) * factor, minSide) / 2;
  const halfH = Math.max(boxHeight(box) * factor, minSide) / 2;
  return clampBox({ x1: c.x - halfW, y1: c.y - halfH, x2: c.x + halfW, y2: c.y + halfH }, size);
}

/** Rounds to `decimals` places for output (results stay readable; arithmetic keeps full precision). */
export function roundTo(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

export function boxToTuple(box: Box, decimals?: number): BoxTuple {
  const r = (v: number) => (decimals === undefined ? v : roundTo(v, decimals) + 0);
  return [r(box.x1), r(box.y1), r(box.x2), r(box.y2)];
}

export function pointToTuple(point: Point, decimals?: number): PointTuple {
  const r = (v: number) => (decimals === undefined ? v : roundTo(v, decimals) + 0);
  return [r(point.x), r(point.y)];
}

/**
 * The integer pixel rectangle that a crop of `box` takes, rounded the way PIL's Image.crop rounds its box
 * (each edge with Python's round, half to even), clamped to the image, never empty.
 */
export function pixelRect(box: Box, size: Size): { left: number; top: number; width: number; height: number } {
  const left = clamp(roundHalfEven(box.x1), 0, size.width - 1);
  const top = clamp(roundHalfEven(box.y1), 0, size.height - 1);
  const right = clamp(roundHalfEven(box.x2), left + 1, size.width);
  const bottom = clamp(roundHalfEven(box.y2), top + 1, size.height);
  return { left, top, width: right - left, height: bottom - top };
}

/** The box a pixel rectangle covers (continuous coordinates: a rectangle of width w spans x from left to left + w). */
export function rectBox(rect: { left: number; top: number; width: number; height: number }): Box {
  return { x1: rect.left, y1: rect.top, x2: rect.left + rect.width, y2: rect.top + rect.height };
}

/**
 * Qwen-Agent's image_zoom_in_tool box rule (qwen_agent/tools/image_zoom_in_qwen3vl.py, maybe_resize_bbox):
 * clamp to the image; if a side is under `minSide` px, scale the box about its centre so the shorter side
 * becomes `minSide` (half-sides rounded up, edges floored/ceiled outward), clamp again, and keep the grown box
 * only if both its sides then exceed `minSide`.
 */
export function growSmallBox(box: Box, size: Size, minSide = 32): { box: Box; grown: boolean } {
  const clamped = clampBox(box, size);
  const width = boxWidth(clamped);
  const height = boxHeight(clamped);
  if (width >= minSide && height >= minSide) return { box: clamped, grown: false };
  const shorter = Math.min(width, height);
  if (shorter <= 0) return { box: clamped, grown: false };
  const ratio = minSide / shorter;
  const c = boxCenter(clamped);
  const halfH = Math.ceil(height * ratio * 0.5);
  const halfW = Math.ceil(width * ratio * 0.5);
  const grownBox = clampBox(
    {
      x1: Math.floor(c.x - halfW),
      y1: Math.floor(c.y - halfH),
      x2: Math.ceil(c.x + halfW),
      y2: Math.ceil(c.y + halfH),
    },
    size,
  );
  if (boxWidth(grownBox) > minSide && boxHeight(grownBox) > minSide) return { box: grownBox, grown: true };
  return { box: clamped, grown: false };
}

const spaceRangeText: Record<CoordinateSpace, string> = {
  pixel: "0 to the image's width/height in pixels",
  rel1000: "0–1000",
  rel999: "0–999",
  unit: "0–1",
};

/**
 * Reads [x1, y1, x2, y2] given by a user or a model in `space` on an image of `size`, and returns it in that
 * image's pixels. Refuses NaN/∞, inverted or empty boxes, and coordinates outside the space's range (by more
 * than half a unit: models round), each with a SquintError that says what a valid box looks like.
 */
export function parseBox(values: readonly number[], space: CoordinateSpace, size: Size, name = "bbox_2d"): Box {
  if (values.length !== 4) {
    throw new SquintError("INVALID_ARGUMENT", `${name} must have 4 numbers [x1, y1, x2, y2]; got ${values.length}.`, {
      hint: `Give ${name} as [x1, y1, x2, y2] in ${spaceRangeText[space]}.`,
    });
  }
  if (!values.every((v) => Number.isFinite(v))) {
    throw new SquintError("INVALID_ARGUMENT", `${name} contains a value that is not a finite number.`, {
      hint: `Give ${name} as four numbers in ${spaceRangeText[space]}.`,
      details: { [name]: values.map(String) },
    });
  }
  const [x1, y1, x2, y2] = values as BoxTuple;
  if (x2 <= x1 || y2 <= y1) {
    throw new SquintError("INVALID_ARGUMENT", `${name} [${values.join(", ")}] is inverted or empty.`, {
      hint: "x1 must be less than x2 and y1 less than y2: (x1, y1) is the top-left corner, (x2, y2) the bottom-right.",
      details: { [name]: values },
    });
  }
  const scale = spaceScale(space);
  const maxX = scale ?? size.width;
  const maxY = scale ?? size.height;
  const slack = outOfRangeSlack(scale);
  if (x1 < -slack || y1 < -slack || x2 > maxX + slack || y2 > maxY + slack) {
    throw new SquintError("INVALID_ARGUMENT", `${name} [${values.join(", ")}] is outside the image.`, {
      hint: `Coordinates are ${spaceRangeText[space]} (x up to ${maxX}, y up to ${maxY}).`,
      details: { [name]: values, space, width: size.width, height: size.height },
    });
  }
  return clampBox(toPixelBox({ x1, y1, x2, y2 }, space, size), size);
}

/** Half a unit of the space: a model that rounds 999.6 up to 1000 is not wrong. */
function outOfRangeSlack(scale: number | null): number {
  return scale === 1 ? 0.0005 : 0.5;
}

/** Like parseBox for [x, y]. */
export function parsePoint(values: readonly number[], space: CoordinateSpace, size: Size, name = "point_2d"): Point {
  if (values.length !== 2 || !values.every((v) => Number.isFinite(v))) {
    throw new SquintError("INVALID_ARGUMENT", `${name} must be two finite numbers [x, y].`, {
      hint: `Give ${name} as [x, y] in ${spaceRangeText[space]}.`,
      details: { [name]: values.map(String) },
    });
  }
  const [x, y] = values as PointTuple;
  const scale = spaceScale(space);
  const slack = outOfRangeSlack(scale);
  if (x < -slack || y < -slack || x > (scale ?? size.width) + slack || y > (scale ?? size.height) + slack) {
    throw new SquintError("INVALID_ARGUMENT", `${name} [${values.join(", ")}] is outside the image.`, {
      hint: `Coordinates are ${spaceRangeText[space]}.`,
      details: { [name]: values, space, width: size.width, height: size.height },
    });
  }
  return clampPoint(toPixelPoint({ x, y }, space, size), size);
}

/** A pixel box on an image, as Qwen3-VL would say it: integers on the 0–1000 grid. */
export function toRel1000Tuple(box: Box, size: Size): BoxTuple {
  const rel = fromPixelBox(box, "rel1000", size);
  return [Math.round(rel.x1), Math.round(rel.y1), Math.round(rel.x2), Math.round(rel.y2)];
}
