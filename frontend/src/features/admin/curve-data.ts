/**
 * Learning-curve points as the chart needs them. The API stores points as JSON
 * (`{credits_spent, labels, val, test, model_version}`); older simulations may use
 * `val_<metric>` / `test_<metric>` names, so both are read.
 */

export interface CurvePoint {
  credits_spent: number;
  val: number | null;
  test: number | null;
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
    out.push({ credits_spent: credits, val: pick(point, "val", metric), test: pick(point, "test", metric) });
  }
  return out.sort((a, b) => a.credits_spent - b.credits_spent);
}

/** This project's own curve first, then stored simulations (active vs random); empty ones dropped. */
export function curveSeries(
  live: { strategy: string; metric?: string; points?: unknown } | null | undefined,
  runs: readonly { strategy: string; metric?: string; points?: unknown }[],
  fallbackMetric: string,
): CurveSeries[] {
  const all = [
    ...(live ? [{ ...live, strategy: live.strategy === "live" ? "this project" : live.strategy }] : []),
    ...runs,
  ];
  return all
    .map((s) => ({ strategy: s.strategy, points: curvePoints(s.points, s.metric ?? fallbackMetric) }))
    .filter((s) => s.points.some((p) => p.val !== null || p.test !== null));
}
