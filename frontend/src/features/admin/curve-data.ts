/**
 * Learning-curve points as the chart needs them. The API stores points as JSON
 * (`{credits_spent, labels, val, test, model_version}`); older simulations may use
 * `val_<metric>` / `test_<metric>` names, so both are read. The project's own points
 * carry their evaluation sample: `val_images`, `val_interval` ([low, high], 95 %),
 * and the same for test.
 */
import { intervalOf, type Interval } from "./metrics";

export interface CurvePoint {
  credits_spent: number;
  val: number | null;
  test: number | null;
  model_version?: number | null;
  valInterval?: Interval | null;
  valN?: number | null;
  testInterval?: Interval | null;
}

export interface CurveSeries {
  strategy: string;
  points: CurvePoint[];
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

function pick(point: Record<string, unknown>, split: "val" | "test", metric: string): number | null {
  return num(point[split]) ?? num(point[`${split}_${metric}`]) ?? num(point[`${split}_map50`]) ?? num(point[`${split}_accuracy`]);
}

export function curvePoints(points: unknown, metric: string): CurvePoint[] {
  if (!Array.isArray(points)) return [];
  const out: CurvePoint[] = [];
  for (const p of points) {
    if (typeof p !== "object" || p === null) continue;
    const point = p as Record<string, unknown>;
    const credits = num(point.credits_spent) ?? num(point.labels);
    if (credits === null) continue;
    out.push({
      credits_spent: credits,
      val: pick(point, "val", metric),
      test: pick(point, "test", metric),
      model_version: num(point.model_version),
      valInterval: intervalOf(point.val_interval),
      valN: num(point.val_images),
      testInterval: intervalOf(point.test_interval),
    });
  }
  return out.sort((a, b) => a.credits_spent - b.credits_spent);
}

/**
 * This project's own curve first, then the newest stored simulation of each
 * strategy (active vs random); empty series dropped.
 */
export function curveSeries(
  live: { strategy: string; metric?: string; points?: unknown } | null | undefined,
  runs: readonly { strategy: string; metric?: string; points?: unknown }[],
  fallbackMetric: string,
): CurveSeries[] {
  const seen = new Set<string>();
  const newestRuns = runs.filter((r) => (seen.has(r.strategy) ? false : (seen.add(r.strategy), true)));
  const all = [
    ...(live ? [{ ...live, strategy: live.strategy === "live" ? "this project" : live.strategy }] : []),
    ...newestRuns,
  ];
  return all
    .map((s) => ({ strategy: s.strategy, points: curvePoints(s.points, s.metric ?? fallbackMetric) }))
    .filter((s) => s.points.some((p) => p.val !== null || p.test !== null));
}

/** One row per credits value, a `s<i>_val` / `s<i>_test` / `s<i>_err` column per series (recharts' shared x axis). */
export type ChartRow = { credits_spent: number } & Record<string, number | [number, number] | null>;

export function chartRows(series: readonly CurveSeries[]): ChartRow[] {
  const rows = new Map<number, ChartRow>();
  series.forEach((s, i) => {
    for (const p of s.points) {
      const row = rows.get(p.credits_spent) ?? { credits_spent: p.credits_spent };
      row[`s${i}_val`] = p.val;
      row[`s${i}_test`] = p.test;
      // recharts' ErrorBar takes [below, above] distances from the value.
      row[`s${i}_err`] = p.val !== null && p.valInterval ? [p.val - p.valInterval.low, p.valInterval.high - p.val] : null;
      if (p.valN != null) row[`s${i}_n`] = p.valN;
      if (p.testInterval) row[`s${i}_test_ci`] = [p.testInterval.low, p.testInterval.high];
      rows.set(p.credits_spent, row);
    }
  });
  return [...rows.values()].sort((a, b) => a.credits_spent - b.credits_spent);
}

export function pointCount(series: readonly CurveSeries[]): number {
  return series.reduce((sum, s) => sum + s.points.filter((p) => p.val !== null || p.test !== null).length, 0);
}
