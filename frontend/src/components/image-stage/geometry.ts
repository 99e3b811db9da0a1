/**
 * Box geometry in image pixel coordinates (x, y = top-left corner, w, h > 0).
 * Pure functions, no React: every drag gesture is start box + pointer delta.
 */

export interface Point {
  x: number;
  y: number;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Size {
  width: number;
  height: number;
}

export type Handle = "nw" | "n" | "ne" | "e" | "se" | "s" | "sw" | "w";
export const HANDLES: readonly Handle[] = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

/** Boxes smaller than this (image pixels) on either side are discarded when drawn. */
export const MIN_BOX_SIZE = 4;

const clamp = (value: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, value));

export function clampPoint(p: Point, bounds: Size): Point {
  return { x: clamp(p.x, 0, bounds.width), y: clamp(p.y, 0, bounds.height) };
}

/** The rectangle spanned by two corners, in any order, clipped to the image. */
export function rectFromPoints(a: Point, b: Point, bounds: Size): Rect {
  const p = clampPoint(a, bounds);
  const q = clampPoint(b, bounds);
  return { x: Math.min(p.x, q.x), y: Math.min(p.y, q.y), w: Math.abs(p.x - q.x), h: Math.abs(p.y - q.y) };
}

export function isDrawable(rect: Rect, minSize = MIN_BOX_SIZE): boolean {
  return rect.w >= minSize && rect.h >= minSize;
}

/** Translates a box by (dx, dy), keeping it whole inside the image. */
export function moveRect(rect: Rect, dx: number, dy: number, bounds: Size): Rect {
  return {
    ...rect,
    x: clamp(rect.x + dx, 0, Math.max(0, bounds.width - rect.w)),
    y: clamp(rect.y + dy, 0, Math.max(0, bounds.height - rect.h)),
  };
}

/**
 * Moves the edges named by `handle` by (dx, dy). The opposite edges stay put, the
 * box stays inside the image and never gets smaller than `minSize`.
 */
export function resizeRect(rect: Rect, handle: Handle, dx: number, dy: number, bounds: Size, minSize = 1): Rect {
  let left = rect.x;
  let top = rect.y;
  let right = rect.x + rect.w;
  let bottom = rect.y + rect.h;
  if (handle.includes("w")) left = clamp(left + dx, 0, right - minSize);
  if (handle.includes("e")) right = clamp(right + dx, left + minSize, bounds.width);
  if (handle.includes("n")) top = clamp(top + dy, 0, bottom - minSize);
  if (handle.includes("s")) bottom = clamp(bottom + dy, top + minSize, bounds.height);
  return { x: left, y: top, w: right - left, h: bottom - top };
}

export function handlePosition(rect: Rect, handle: Handle): Point {
  const cx = rect.x + rect.w / 2;
  const cy = rect.y + rect.h / 2;
  const x = handle.includes("w") ? rect.x : handle.includes("e") ? rect.x + rect.w : cx;
  const y = handle.includes("n") ? rect.y : handle.includes("s") ? rect.y + rect.h : cy;
  return { x, y };
}

export function containsPoint(rect: Rect, p: Point): boolean {
  return p.x >= rect.x && p.x <= rect.x + rect.w && p.y >= rect.y && p.y <= rect.y + rect.h;
}

export type Hit<Id> = { id: Id; part: Handle | "body" };

/**
 * What is under the pointer: a handle of the selected box first (within
 * `tolerance` image pixels), then the smallest box containing the point, so a
 * small box drawn inside a big one stays reachable.
 */
export function hitTest<Id>(
  boxes: readonly (Rect & { id: Id })[],
  p: Point,
  selectedId: Id | null,
  tolerance: number,
): Hit<Id> | null {
  const selected = boxes.find((b) => b.id === selectedId);
  if (selected) {
    for (const handle of HANDLES) {
      const h = handlePosition(selected, handle);
      if (Math.abs(h.x - p.x) <= tolerance && Math.abs(h.y - p.y) <= tolerance) return { id: selected.id, part: handle };
    }
  }
  let best: (Rect & { id: Id }) | null = null;
  for (const box of boxes) {
    if (containsPoint(box, p) && (!best || box.w * box.h < best.w * best.h)) best = box;
  }
  return best ? { id: best.id, part: "body" } : null;
}

export const HANDLE_CURSORS: Record<Handle, string> = {
  nw: "nwse-resize",
  se: "nwse-resize",
  ne: "nesw-resize",
  sw: "nesw-resize",
  n: "ns-resize",
  s: "ns-resize",
  e: "ew-resize",
  w: "ew-resize",
};

/** Rounds to 0.01 px so submitted coordinates stay readable. */
export function roundRect(rect: Rect): Rect {
  const r = (v: number) => Math.round(v * 100) / 100;
  return { x: r(rect.x), y: r(rect.y), w: r(rect.w), h: r(rect.h) };
}
