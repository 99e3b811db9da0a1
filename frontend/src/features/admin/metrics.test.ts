import { describe, expect, it } from "vitest";
import { formatMetric, headlineMetric, metricRows, perClassTable, sampleOf } from "./metrics";

describe("metricRows", () => {
  it("aligns val and test side by side, overall first", () => {
    const rows = metricRows(
      { per_class: { pill: { ap50: 0.8 }, capsule: { ap50: 0.6 } }, map50: 0.7 },
      { per_class: { pill: { ap50: 0.75 } }, map50: 0.65 },
    );
    expect(rows[0]).toMatchObject({ group: null, metric: "map50", val: 0.7, test: 0.65 });
    expect(rows.find((r) => r.group === "pill")).toMatchObject({ metric: "ap50", val: 0.8, test: 0.75 });
    expect(rows.find((r) => r.group === "capsule")).toMatchObject({ val: 0.6, test: null });
  });
  it("handles flat class dicts and missing splits", () => {
    expect(metricRows({ cat: 0.9 }, undefined)).toEqual([{ key: "cat", group: null, metric: "cat", val: 0.9, test: null }]);
  });
  it("formats scores to three decimals and counts as integers", () => {
    expect(formatMetric(null)).toBe("–");
    expect(formatMetric(0.12345)).toBe("0.123");
    expect(formatMetric(12.345)).toBe("12.35");
    expect(formatMetric(97, "num_gt")).toBe("97");
    expect(formatMetric(97.0, "support")).toBe("97");
    expect(formatMetric(1, "num_gt")).toBe("1");
    expect(formatMetric(1, "ap50")).toBe("1.000");
    expect(formatMetric(40, "images")).toBe("40");
  });
  it("keeps the evaluation sample out of the rows and reads it apart", () => {
    const val = { images: 40, accuracy: 0.8, interval: [0.66, 0.9], per_class: { cat: { f1: 0.7, support: 20 } } };
    expect(metricRows(val, {}).map((r) => r.metric)).toEqual(["accuracy", "f1", "support"]);
    expect(sampleOf(val)).toEqual({ n: 40, interval: { low: 0.66, high: 0.9 } });
    expect(sampleOf({ images: 3, map50: 0.4, interval: null })).toEqual({ n: 3, interval: null });
    expect(sampleOf({ accuracy: 0.8 })).toEqual({ n: null, interval: null });
    expect(sampleOf({ interval: [0.9, 0.1] }).interval).toBeNull();
    expect(headlineMetric({ val: { map50: 0.1 } })).toBe("map50");
    expect(headlineMetric({ val: { accuracy: 0.1 } })).toBe("accuracy");
  });
});

describe("perClassTable", () => {
  it("pivots per-class metrics into one row per class", () => {
    const rows = metricRows(
      { map50: 0.5, per_class: { pill: { ap50: 0.8, recall: 0.7 }, cap: { ap50: 0.6 } } },
      { per_class: { pill: { ap50: 0.75 } } },
    );
    expect(perClassTable(rows)).toEqual({
      metrics: ["ap50", "recall"],
      rows: [
        { group: "pill", values: { ap50: { val: 0.8, test: 0.75 }, recall: { val: 0.7, test: null } } },
        { group: "cap", values: { ap50: { val: 0.6, test: null } } },
      ],
    });
  });
});
