/**
 * Zoom and pan as one affine transform: screen = image * scale + (tx, ty),
 * with screen coordinates relative to the stage's top-left corner.
 */
import type { Point, Size } from "./geometry";

export interface Viewport {
  scale: number;
  tx: number;
  ty: number;
}

export const MIN_SCALE = 0.05;
export const MAX_SCALE = 20;

export function toImage(v: Viewport, screen: Point): Point {
  return { x: (screen.x - v.tx) / v.scale, y: (screen.y - v.ty) / v.scale };
}

export function toScreen(v: Viewport, image: Point): Point {
  return { x: image.x * v.scale + v.tx, y: image.y * v.scale + v.ty };
}

/** The largest scale showing the whole image, centred, with `margin` screen px around it. */
export function fitViewport(image: Size, stage: Size, margin = 16): Viewport {
  if (image.width <= 0 || image.height <= 0 || stage.width <= 0 || stage.height <= 0) {
    return { scale: 1, tx: 0, ty: 0 };
  }
  const availableW = Math.max(1, stage.width - 2 * margin);
  const availableH = Math.max(1, stage.height - 2 * margin);
  const scale = Math.min(availableW / image.width, availableH / image.height, MAX_SCALE);
  return {
    scale,
    tx: (stage.width - image.width * scale) / 2,
    ty: (stage.height - image.height * scale) / 2,
  };
}

/** Zooms by `factor` keeping the image point under `anchor` (screen) fixed. */
export function zoomAt(v: Viewport, factor: number, anchor: Point): Viewport {
  const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, v.scale * factor));
  const ratio = scale / v.scale;
  return {
    scale,
    tx: anchor.x - (anchor.x - v.tx) * ratio,
    ty: anchor.y - (anchor.y - v.ty) * ratio,
  };
}

export function panBy(v: Viewport, dx: number, dy: number): Viewport {
  return { ...v, tx: v.tx + dx, ty: v.ty + dy };
}

/** Wheel delta (pixels) to a zoom factor: one notch of 100 px ≈ ×1.2. */
export function wheelFactor(deltaY: number, deltaMode = 0): number {
  const pixels = deltaMode === 1 ? deltaY * 33 : deltaMode === 2 ? deltaY * 400 : deltaY;
  return Math.exp(-pixels * 0.0018);
}
