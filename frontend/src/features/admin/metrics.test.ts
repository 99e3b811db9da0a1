import { describe, expect, it } from "vitest";
import { formatMetric, headlineMetric, headlineOf, metricRows, perClassTable, sampleOf } from "./metrics";

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
    const val = { accuracy: 0.8, n: 40, ci_low: 0.66, ci_high: 0.9, per_class: { cat: { f1: 0.7, support: 20 } } };
    expect(metricRows(val, {}).map((r) => r.metric)).toEqual(["accuracy", "f1", "support"]);
    expect(sampleOf(val, "accuracy")).toEqual({ n: 40, interval: { low: 0.66, high: 0.9 } });
    expect(sampleOf({ map50: 0.4, images: 12, ci_low: { map50: 0.3 }, ci_high: { map50: 0.5 } }, "map50")).toEqual({
      n: 12,
      interval: { low: 0.3, high: 0.5 },
    });
    expect(sampleOf({ map50_ci_low: 0.1, map50_ci_high: 0.2 }, "map50").interval).toEqual({ low: 0.1, high: 0.2 });
    const nested = { map50: { value: 0.45, ci_low: 0.4, ci_high: 0.5, n: 30 } };
    expect(sampleOf(nested, "map50")).toEqual({ n: 30, interval: { low: 0.4, high: 0.5 } });
    expect(headlineOf(nested, "map50")).toBe(0.45);
    expect(metricRows(nested, {})).toEqual([{ key: "map50", group: null, metric: "map50", val: 0.45, test: null }]);
    expect(sampleOf({ accuracy: 0.8 }, "accuracy")).toEqual({ n: null, interval: null });
    expect(sampleOf({ ci_low: 0.9, ci_high: 0.1 }, "accuracy").interval).toBeNull();
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
