import { describe, expect, it } from "vitest";
import { gridMax, normalizeHeatmaps, normalizeHistograms, readHealth } from "./health-data";

describe("health data", () => {
  it("reads the server's array-per-class report", () => {
    const health = readHealth({
      num_images: 4,
      class_names: ["pill", "capsule"],
      class_counts: [10, 2],
      heatmap: [
        [[1, 0], [0, 2]],
        [[0, 0], [1, 0]],
      ],
      size_bins: [0, 0.1, 0.2],
      size_hist: [
        [3, 7],
        [1, 1],
      ],
      boxes_per_image: 3,
      recommendations: [{ code: "class_imbalance", message: "Label more capsules.", severity: "high", class: 1 }],
    });
    expect(health.classCounts).toEqual([
      { label: "pill", count: 10 },
      { label: "capsule", count: 2 },
    ]);
    expect(health.heatmaps.map((h) => h.name)).toEqual(["pill", "capsule"]);
    expect(health.histograms[0]).toEqual({
      name: "pill",
      bins: [
        { label: "0–0.10", count: 3 },
        { label: "0.10–0.20", count: 7 },
      ],
    });
    expect(health.recommendations).toEqual([{ code: "class_imbalance", message: "Label more capsules.", severity: "high" }]);
    expect(health.facts).toContainEqual({ label: "Boxes per image", value: "3.00" });
  });

  it("reads dict-shaped variants", () => {
    const health = readHealth({ class_counts: { cat: 3 }, recommendations: [] });
    expect(health.classCounts).toEqual([{ label: "cat", count: 3 }]);
    expect(health.heatmaps).toEqual([]);
    expect(normalizeHeatmaps([[1, 2], [3, 4]])).toEqual([{ name: "All classes", grid: [[1, 2], [3, 4]] }]);
    expect(normalizeHeatmaps({ pill: [[0, 1]], cap: { grid: [[2]] }, junk: 3 }).map((h) => h.name)).toEqual(["pill", "cap"]);
    expect(normalizeHistograms({ pill: [4, 5] })).toEqual([
      { name: "pill", bins: [{ label: "1", count: 4 }, { label: "2", count: 5 }] },
    ]);
    expect(normalizeHistograms({ counts: [1], bins: [8] })[0]!.bins[0]!.label).toBe("8");
    expect(gridMax([[1, 7], [3]])).toBe(7);
  });
});
