import { describe, expect, it } from "vitest";
import { chartRows, curvePoints, curveSeries, pointCount } from "./curve-data";

describe("learning curve data", () => {
  it("reads val/test points and sorts them by credits", () => {
    expect(
      curvePoints(
        [
          { credits_spent: 20, val: 0.5, test: 0.4 },
          { credits_spent: 10, val_map50: 0.3 },
          { nope: 1 },
        ],
        "map50",
      ),
    ).toMatchObject([
      { credits_spent: 10, val: 0.3, test: null },
      { credits_spent: 20, val: 0.5, test: 0.4 },
    ]);
    expect(curvePoints(null, "map50")).toEqual([]);
  });

  it("puts the project's own curve first and drops empty series", () => {
    const series = curveSeries(
      { strategy: "live", metric: "map50", points: [{ credits_spent: 5, val: null, test: null }] },
      [
        { strategy: "least_confident", points: [{ credits_spent: 5, val: 0.2 }] },
        { strategy: "random", points: [{ credits_spent: 5, val: 0.1 }] },
      ],
      "map50",
    );
    expect(series.map((s) => s.strategy)).toEqual(["least_confident", "random"]);
    const withLive = curveSeries({ strategy: "live", points: [{ credits_spent: 1, val: 0.9 }] }, [], "accuracy");
    expect(withLive[0]!.strategy).toBe("this project");
  });

  it("keeps the newest simulation per strategy", () => {
    const series = curveSeries(null, [
      { strategy: "random", points: [{ credits_spent: 5, val: 0.3 }] },
      { strategy: "random", points: [{ credits_spent: 5, val: 0.1 }] },
    ], "map50");
    expect(series).toHaveLength(1);
    expect(series[0]!.points[0]!.val).toBe(0.3);
  });

  it("reads the evaluation sample of a point", () => {
    const [point] = curvePoints(
      [{ credits_spent: 4, val: 0.5, val_images: 30, val_interval: [0.4, 0.6], test: 0.45, test_interval: [0.3, 0.55] }],
      "accuracy",
    );
    expect(point).toMatchObject({ valInterval: { low: 0.4, high: 0.6 }, valN: 30, testInterval: { low: 0.3, high: 0.55 } });
    expect(curvePoints([{ credits_spent: 4, val: 0.5, val_interval: null }], "accuracy")[0]!.valInterval).toBeNull();
  });

  it("merges series on one credits axis with error-bar distances", () => {
    const rows = chartRows([
      { strategy: "this project", points: [{ credits_spent: 10, val: 0.5, test: null, valInterval: { low: 0.4, high: 0.7 } }] },
      { strategy: "random", points: [{ credits_spent: 10, val: 0.3, test: 0.2 }, { credits_spent: 5, val: 0.1, test: null }] },
    ]);
    expect(rows.map((r) => r.credits_spent)).toEqual([5, 10]);
    expect(rows[1]!.s0_val).toBe(0.5);
    expect((rows[1]!.s0_err as number[]).map((v) => Number(v.toFixed(3)))).toEqual([0.1, 0.2]);
    expect(rows[1]!.s1_test).toBe(0.2);
    expect(rows[0]!.s0_val).toBeUndefined();
    expect(pointCount([{ strategy: "x", points: [{ credits_spent: 1, val: 0.2, test: null }] }])).toBe(1);
  });
});
