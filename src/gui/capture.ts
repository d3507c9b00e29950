import { SquintError } from "../errors.js";
import {
  type Affine,
  applyToBox,
  applyToPoint,
  type Box,
  invert,
  type Point,
  type Size,
  scaling,
} from "../tools/geometry.js";
import type { ImageStore, StoredImage } from "../tools/store/image-store.js";
import type { Screen } from "./screen.js";

/**
 * One screenshot and the measured map from its pixels to the screen's logical pixels. The scale is measured
 * on every capture (screenshot width / logical width), never taken from a reported device-pixel ratio: a
 * browser zoom, an OS scale factor, a driver that downsizes its screenshots all show up here as they are.
 */
export interface Capture {
  bytes: Uint8Array;
  image: StoredImage;
  /** The logical size (CSS pixels for a page). */
  viewport: Size;
  /** Screenshot pixels per logical pixel, across and down. */
  scale: { x: number; y: number };
  /** Screenshot pixels → logical pixels (the device-pixel ratio as one more transform of the geometry). */
  toViewport: Affine;
  takenAt: number;
}

/** Screenshot and logical sizes disagreeing in shape by more than this is a screenshot of something else. */
const MAX_ASPECT_MISMATCH = 0.03;

export async function capture(screen: Screen, store: ImageStore): Promise<Capture> {
  const viewport = await screen.size();
  const bytes = await screen.screenshot();
  // Unpinned: screenshots are many; the store evicts old ones under its memory budget.
  const image = await store.ingest(bytes, { source: "screenshot", pin: false });
  const scale = { x: image.width / viewport.width, y: image.height / viewport.height };
  if (Math.abs(scale.x - scale.y) / Math.max(scale.x, scale.y) > MAX_ASPECT_MISMATCH) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      `The screenshot (${image.width}×${image.height}) does not have the shape of the screen (${viewport.width}×${viewport.height}).`,
      {
        hint: "The screen's size() must describe the area its screenshot() shows (same orientation, no full-page capture).",
        details: { screenshot: [image.width, image.height], viewport: [viewport.width, viewport.height] },
      },
    );
  }
  return {
    bytes,
    image,
    viewport,
    scale,
    toViewport: scaling(1 / scale.x, 1 / scale.y),
    takenAt: Date.now(),
  };
}

export function boxToViewport(shot: Capture, box: Box): Box {
  return applyToBox(shot.toViewport, box);
}

export function pointToViewport(shot: Capture, point: Point): Point {
  return applyToPoint(shot.toViewport, point);
}

export function boxToScreenshot(shot: Capture, box: Box): Box {
  return applyToBox(invert(shot.toViewport), box);
}

export function pointToScreenshot(shot: Capture, point: Point): Point {
  return applyToPoint(invert(shot.toViewport), point);
}
