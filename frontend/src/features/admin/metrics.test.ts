import { describe, expect, it } from "vitest";
import { formatMetric, metricRows, perClassTable } from "./metrics";

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
  it("formats", () => {
    expect(formatMetric(null)).toBe("–");
    expect(formatMetric(0.12345)).toBe("0.123");
    expect(formatMetric(12.34)).toBe("12.3");
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
