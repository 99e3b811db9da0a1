import { describe, expect, it } from "vitest";
import { handlePosition, hitTest, isDrawable, moveRect, rectFromPoints, resizeRect, roundRect } from "./geometry";

const bounds = { width: 100, height: 80 };

describe("rectFromPoints (drawing)", () => {
  it("normalises corners dragged in any direction", () => {
    expect(rectFromPoints({ x: 50, y: 40 }, { x: 10, y: 20 }, bounds)).toEqual({ x: 10, y: 20, w: 40, h: 20 });
  });
  it("clips to the image", () => {
    expect(rectFromPoints({ x: -10, y: 70 }, { x: 30, y: 120 }, bounds)).toEqual({ x: 0, y: 70, w: 30, h: 10 });
  });
  it("rejects boxes too small to be deliberate", () => {
    expect(isDrawable({ x: 0, y: 0, w: 3, h: 50 })).toBe(false);
    expect(isDrawable({ x: 0, y: 0, w: 4, h: 4 })).toBe(true);
  });
});

describe("moveRect", () => {
  it("translates by the pointer delta", () => {
    expect(moveRect({ x: 10, y: 10, w: 20, h: 20 }, 5, -3, bounds)).toEqual({ x: 15, y: 7, w: 20, h: 20 });
  });
  it("keeps the whole box inside the image", () => {
    expect(moveRect({ x: 10, y: 10, w: 20, h: 20 }, 500, -500, bounds)).toEqual({ x: 80, y: 0, w: 20, h: 20 });
  });
});

describe("resizeRect", () => {
  const r = { x: 10, y: 10, w: 40, h: 30 };
  it("moves only the dragged edges", () => {
    expect(resizeRect(r, "se", 5, 10, bounds)).toEqual({ x: 10, y: 10, w: 45, h: 40 });
    expect(resizeRect(r, "nw", -5, -5, bounds)).toEqual({ x: 5, y: 5, w: 45, h: 35 });
    expect(resizeRect(r, "e", 10, 99, bounds)).toEqual({ x: 10, y: 10, w: 50, h: 30 });
    expect(resizeRect(r, "n", 99, 5, bounds)).toEqual({ x: 10, y: 15, w: 40, h: 25 });
  });
  it("stops at the opposite edge plus the minimum size instead of flipping", () => {
    expect(resizeRect(r, "w", 100, 0, bounds, 2)).toEqual({ x: 48, y: 10, w: 2, h: 30 });
    expect(resizeRect(r, "s", 0, -100, bounds, 2)).toEqual({ x: 10, y: 10, w: 40, h: 2 });
  });
  it("stays inside the image", () => {
    expect(resizeRect(r, "se", 1000, 1000, bounds)).toEqual({ x: 10, y: 10, w: 90, h: 70 });
    expect(resizeRect(r, "nw", -1000, -1000, bounds)).toEqual({ x: 0, y: 0, w: 50, h: 40 });
  });
});

describe("hitTest", () => {
  const boxes = [
    { id: "big", x: 0, y: 0, w: 100, h: 80 },
    { id: "small", x: 40, y: 30, w: 10, h: 10 },
  ];
  it("prefers the smallest box under the pointer", () => {
    expect(hitTest(boxes, { x: 45, y: 35 }, null, 2)).toEqual({ id: "small", part: "body" });
    expect(hitTest(boxes, { x: 5, y: 5 }, null, 2)).toEqual({ id: "big", part: "body" });
  });
  it("finds the handles of the selected box first", () => {
    expect(hitTest(boxes, { x: 50.5, y: 40.5 }, "small", 2)).toEqual({ id: "small", part: "se" });
    expect(hitTest(boxes, { x: 45, y: 30 }, "small", 1)).toEqual({ id: "small", part: "n" });
  });
  it("returns null on empty space", () => {
    expect(hitTest(boxes.slice(1), { x: 5, y: 5 }, null, 2)).toBeNull();
  });
  it("places handles on corners and edge midpoints", () => {
    expect(handlePosition({ x: 10, y: 20, w: 40, h: 30 }, "ne")).toEqual({ x: 50, y: 20 });
    expect(handlePosition({ x: 10, y: 20, w: 40, h: 30 }, "w")).toEqual({ x: 10, y: 35 });
  });
  it("rounds coordinates for submission", () => {
    expect(roundRect({ x: 1.23456, y: 2, w: 3.999, h: 4.005 })).toEqual({ x: 1.23, y: 2, w: 4, h: 4.01 });
  });
});
