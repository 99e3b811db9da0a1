/**
 * Flattens a model version's val and test metrics into aligned rows so they can
 * be shown side by side, whatever their nesting: `{map50: 0.7}`,
 * `{per_class: {pill: {ap50: 0.8}}}` or `{pill: {precision: 0.9}}` all work.
 */

export interface MetricRow {
  key: string;
  group: string | null;
  metric: string;
  val: number | null;
  test: number | null;
}

type Json = unknown;

function flatten(value: Json, path: string[], out: Map<string, { group: string | null; metric: string; v: number }>) {
  if (typeof value === "number" && Number.isFinite(value)) {
    const metric = path[path.length - 1] ?? "value";
    const groupPath = path.slice(0, -1).filter((p) => p !== "per_class" && p !== "classes");
    out.set(path.join("."), { group: groupPath.length ? groupPath.join(" / ") : null, metric, v: value });
    return;
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, Json>)) flatten(v, [...path, k], out);
  }
}

export function metricRows(val: Json, test: Json): MetricRow[] {
  const a = new Map<string, { group: string | null; metric: string; v: number }>();
  const b = new Map<string, { group: string | null; metric: string; v: number }>();
  flatten(val, [], a);
  flatten(test, [], b);
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  const rows = keys.map((key) => {
    const info = a.get(key) ?? b.get(key)!;
    return { key, group: info.group, metric: info.metric, val: a.get(key)?.v ?? null, test: b.get(key)?.v ?? null };
  });
  // Overall metrics first, then per class, keeping the server's order within each.
  return [...rows.filter((r) => r.group === null), ...rows.filter((r) => r.group !== null)];
}

export function formatMetric(v: number | null): string {
  if (v === null) return "–";
  return Math.abs(v) <= 1 ? v.toFixed(3) : v.toFixed(1);
}

export interface ClassMetricTable {
  metrics: string[];
  rows: { group: string; values: Record<string, { val: number | null; test: number | null }> }[];
}

/** Per-class rows as one table: a row per class, a val and a test column per metric. */
export function perClassTable(rows: readonly MetricRow[]): ClassMetricTable {
  const metrics: string[] = [];
  const byGroup = new Map<string, Record<string, { val: number | null; test: number | null }>>();
  for (const row of rows) {
    if (row.group === null) continue;
    if (!metrics.includes(row.metric)) metrics.push(row.metric);
    const values = byGroup.get(row.group) ?? {};
    values[row.metric] = { val: row.val, test: row.test };
    byGroup.set(row.group, values);
  }
  return { metrics, rows: [...byGroup].map(([group, values]) => ({ group, values })) };
}
