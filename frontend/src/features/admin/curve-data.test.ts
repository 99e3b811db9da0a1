import { describe, expect, it } from "vitest";
import { curvePoints, curveSeries } from "./curve-data";

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
    ).toEqual([
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
});
