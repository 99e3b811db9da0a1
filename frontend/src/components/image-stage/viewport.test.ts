import { describe, expect, it } from "vitest";
import { fitViewport, MAX_SCALE, MIN_SCALE, panBy, toImage, toScreen, wheelFactor, zoomAt } from "./viewport";

describe("viewport transforms", () => {
  it("maps image to screen and back", () => {
    const v = { scale: 2, tx: 10, ty: -5 };
    expect(toScreen(v, { x: 3, y: 4 })).toEqual({ x: 16, y: 3 });
    expect(toImage(v, { x: 16, y: 3 })).toEqual({ x: 3, y: 4 });
  });

  it("fits and centres the image", () => {
    const v = fitViewport({ width: 200, height: 100 }, { width: 440, height: 440 }, 20);
    expect(v.scale).toBe(2);
    expect(v.tx).toBe(20);
    expect(v.ty).toBe(120);
  });

  it("keeps the point under the cursor fixed while zooming", () => {
    const v = { scale: 1.5, tx: 30, ty: 40 };
    const anchor = { x: 200, y: 150 };
    const before = toImage(v, anchor);
    const zoomed = zoomAt(v, 1.7, anchor);
    expect(zoomed.scale).toBeCloseTo(2.55);
    const after = toImage(zoomed, anchor);
    expect(after.x).toBeCloseTo(before.x);
    expect(after.y).toBeCloseTo(before.y);
  });

  it("clamps the zoom level", () => {
    expect(zoomAt({ scale: 1, tx: 0, ty: 0 }, 1000, { x: 0, y: 0 }).scale).toBe(MAX_SCALE);
    expect(zoomAt({ scale: 1, tx: 0, ty: 0 }, 0.00001, { x: 0, y: 0 }).scale).toBe(MIN_SCALE);
  });

  it("pans by screen pixels", () => {
    expect(panBy({ scale: 3, tx: 1, ty: 2 }, 10, -4)).toEqual({ scale: 3, tx: 11, ty: -2 });
  });

  it("zooms in on wheel up and out on wheel down", () => {
    expect(wheelFactor(-100)).toBeGreaterThan(1);
    expect(wheelFactor(100)).toBeLessThan(1);
    expect(wheelFactor(100) * wheelFactor(-100)).toBeCloseTo(1);
    expect(wheelFactor(3, 1)).toBeCloseTo(wheelFactor(99));
  });
});
