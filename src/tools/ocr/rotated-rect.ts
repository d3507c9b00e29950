/**
 * A text line found by detection: a rectangle of any rotation. `u` is the reading direction (unit vector),
 * `v` is perpendicular to it and points "down" the text; `width` runs along `u`, `height` along `v`.
 * All in pixels of the image the rectangle belongs to.
 */
export interface RotatedRect {
  cx: number;
  cy: number;
  ux: number;
  uy: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

/** v = u turned a quarter clockwise in image coordinates (y grows downwards), so it points down the line. */
export function perpendicular(rect: RotatedRect): Point {
  return { x: -rect.uy, y: rect.ux };
}

/** The point at (s, t) in the rectangle's own frame, s along u and t along v, both from its centre. */
export function rectPoint(rect: RotatedRect, s: number, t: number): Point {
  const v = perpendicular(rect);
  return { x: rect.cx + s * rect.ux + t * v.x, y: rect.cy + s * rect.uy + t * v.y };
}

/** Corners in reading order: top-left, top-right, bottom-right, bottom-left. */
export function rectCorners(rect: RotatedRect): Point[] {
  const hw = rect.width / 2;
  const hh = rect.height / 2;
  return [rectPoint(rect, -hw, -hh), rectPoint(rect, hw, -hh), rectPoint(rect, hw, hh), rectPoint(rect, -hw, hh)];
}

export function rectContains(rect: RotatedRect, x: number, y: number): boolean {
  const dx = x - rect.cx;
  const dy = y - rect.cy;
  const s = dx * rect.ux + dy * rect.uy;
  const t = -dx * rect.uy + dy * rect.ux;
  return Math.abs(s) <= rect.width / 2 && Math.abs(t) <= rect.height / 2;
}

/** Convex hull (monotone chain), counter-clockwise, without collinear points. */
export function convexHull(points: Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  if (sorted.length <= 2) return sorted;
  const cross = (o: Point, a: Point, b: Point) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const lower: Point[] = [];
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/**
 * The smallest-area rectangle around a point set: one of its sides lies on a hull edge, so trying every
 * edge direction is exact. The long side becomes the reading direction unless it is closer to vertical
 * and the box is nearly square (a single glyph), where horizontal reading is the better guess.
 */
export function minAreaRect(points: Point[]): RotatedRect {
  const hull = convexHull(points);
  if (hull.length === 0) return { cx: 0, cy: 0, ux: 1, uy: 0, width: 0, height: 0 };
  let best = { area: Number.POSITIVE_INFINITY, ux: 1, uy: 0, minS: 0, maxS: 0, minT: 0, maxT: 0 };
  const directions: Point[] = [{ x: 1, y: 0 }];
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i];
    const b = hull[(i + 1) % hull.length];
    const len = Math.hypot(b.x - a.x, b.y - a.y);
    if (len > 0) directions.push({ x: (b.x - a.x) / len, y: (b.y - a.y) / len });
  }
  for (const d of directions) {
    let minS = Number.POSITIVE_INFINITY;
    let maxS = Number.NEGATIVE_INFINITY;
    let minT = Number.POSITIVE_INFINITY;
    let maxT = Number.NEGATIVE_INFINITY;
    for (const p of hull) {
      const s = p.x * d.x + p.y * d.y;
      const t = -p.x * d.y + p.y * d.x;
      if (s < minS) minS = s;
      if (s > maxS) maxS = s;
      if (t < minT) minT = t;
      if (t > maxT) maxT = t;
    }
    const area = (maxS - minS) * (maxT - minT);
    if (area < best.area - 1e-9) best = { area, ux: d.x, uy: d.y, minS, maxS, minT, maxT };
  }
  const sMid = (best.minS + best.maxS) / 2;
  const tMid = (best.minT + best.maxT) / 2;
  const cx = sMid * best.ux - tMid * best.uy;
  const cy = sMid * best.uy + tMid * best.ux;
  return orientForReading({
    cx,
    cy,
    ux: best.ux,
    uy: best.uy,
    width: best.maxS - best.minS,
    height: best.maxT - best.minT,
  });
}

/** Picks which side is the reading direction and makes it point rightwards (or down, for vertical lines). */
export function orientForReading(rect: RotatedRect): RotatedRect {
  let { ux, uy, width, height } = rect;
  // Make u the longer side.
  if (height > width) {
    [ux, uy] = [-uy, ux];
    [width, height] = [height, width];
  }
  const nearVertical = Math.abs(uy) > Math.abs(ux);
  if (nearVertical && width < 1.5 * height) {
    [ux, uy] = [-uy, ux];
    [width, height] = [height, width];
  }
  const vertical = Math.abs(uy) > Math.abs(ux);
  if ((vertical && uy < 0) || (!vertical && ux < 0)) {
    ux = -ux;
    uy = -uy;
  }
  return { cx: rect.cx, cy: rect.cy, ux, uy, width, height };
}

/** Axis-aligned hull of a rotated rectangle. */
export function rectBounds(rect: RotatedRect): { x1: number; y1: number; x2: number; y2: number } {
  const corners = rectCorners(rect);
  return {
    x1: Math.min(...corners.map((p) => p.x)),
    y1: Math.min(...corners.map((p) => p.y)),
    x2: Math.max(...corners.map((p) => p.x)),
    y2: Math.max(...corners.map((p) => p.y)),
  };
}
