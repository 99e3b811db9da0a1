import { describe, expect, it } from "vitest";
import { gaugeSegments, percent } from "./gauge";

describe("gaugeSegments", () => {
  it("splits granted credits into spent, reserved and available", () => {
    const s = gaugeSegments({ granted: 200, reserved: 10, spent: 90, available: 100 });
    expect(s.map((x) => [x.key, x.value, x.fraction])).toEqual([
      ["spent", 90, 0.45],
      ["reserved", 10, 0.05],
      ["available", 100, 0.5],
    ]);
  });
  it("is empty when nothing is granted", () => {
    expect(gaugeSegments({ granted: 0, reserved: 0, spent: 0, available: 0 }).every((x) => x.fraction === 0)).toBe(true);
  });
  it("never overflows on an inconsistent balance", () => {
    const s = gaugeSegments({ granted: 10, reserved: 5, spent: 10, available: -5 });
    const total = s.reduce((sum, x) => sum + x.fraction, 0);
    expect(total).toBeCloseTo(1);
    expect(s[2]!.value).toBe(0);
  });
  it("formats shares", () => {
    expect(percent(0.5)).toBe("50%");
    expect(percent(0.004)).toBe("0.4%");
  });
});
