import { describe, expect, it } from "vitest";
import { gridMax, normalizeHeatmaps, normalizeHistograms } from "./health-data";

describe("health data", () => {
  it("reads one grid or one per class", () => {
    expect(normalizeHeatmaps([[1, 2], [3, 4]])).toEqual([{ name: "All classes", grid: [[1, 2], [3, 4]] }]);
    expect(normalizeHeatmaps({ pill: [[0, 1]], cap: { grid: [[2]] }, junk: 3 }).map((h) => h.name)).toEqual(["pill", "cap"]);
    expect(normalizeHeatmaps(null)).toEqual([]);
    expect(gridMax([[1, 7], [3]])).toBe(7);
  });
  it("reads histograms with edges, bins or bare counts", () => {
    expect(normalizeHistograms({ counts: [1, 2], edges: [0, 0.5, 1] })[0]!.bins).toEqual([
      { label: "0–0.50", count: 1 },
      { label: "0.50–1", count: 2 },
    ]);
    expect(normalizeHistograms({ pill: [4, 5] })).toEqual([
      { name: "pill", bins: [{ label: "1", count: 4 }, { label: "2", count: 5 }] },
    ]);
    expect(normalizeHistograms({ pill: { counts: [1], bins: [8] } })[0]!.bins[0]!.label).toBe("8");
  });
});
