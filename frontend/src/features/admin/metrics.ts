/**
 * Flattens a model version's val and test metrics into aligned rows so they can
 * be shown side by side, whatever their nesting: `{map50: 0.7}`,
 * `{per_class: {pill: {ap50: 0.8}}}` or `{pill: {precision: 0.9}}` all work.
 * The evaluation sample's size and interval (`n`/`images`, `ci_low`/`ci_high`)
 * are read apart by `sampleOf` and left out of the rows.
 */
import { formatValue } from "../../components/charts/format";

export interface MetricRow {
  key: string;
  group: string | null;
  metric: string;
  val: number | null;
  test: number | null;
}

type Json = unknown;

const SAMPLE_KEYS = new Set(["n", "images", "ci_low", "ci_high", "ci"]);
const isSampleKey = (key: string) => SAMPLE_KEYS.has(key) || key.endsWith("_ci_low") || key.endsWith("_ci_high");

function flatten(value: Json, path: string[], out: Map<string, { group: string | null; metric: string; v: number }>) {
  if (path.length === 1 && isSampleKey(path[0]!)) return;
  if (path.length === 1 && value && typeof value === "object" && typeof (value as { value?: unknown }).value === "number") {
    value = (value as { value: number }).value; // {value, ci_low, ci_high, n}: the interval is read by sampleOf
  }
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

/** `metric` is the value's name: counts (num_gt, support, …) print as integers. */
export function formatMetric(v: number | null, metric = ""): string {
  return formatValue(v, metric);
}

export interface Interval {
  low: number;
  high: number;
}

export interface EvaluationSample {
  /** Images in the evaluation sample. */
  n: number | null;
  /** 95 % interval of `metric`, when the server computed one. */
  interval: Interval | null;
}

const finite = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/**
 * The size of a split's evaluation sample and the interval of `metric` on it. Read
 * from `{n, ci_low, ci_high}` beside the headline metric, `{ci_low: {metric: x}}`,
 * `{<metric>_ci_low}` or `{<metric>: {value, ci_low, ci_high, n}}`; `images` is the
 * older name of `n`.
 */
export function sampleOf(split: Json, metric: string): EvaluationSample {
  if (!split || typeof split !== "object" || Array.isArray(split)) return { n: null, interval: null };
  const s = split as Record<string, unknown>;
  const nested = s[metric] && typeof s[metric] === "object" ? (s[metric] as Record<string, unknown>) : null;
  const byMetric = (key: "ci_low" | "ci_high") => {
    const v = s[key];
    return v && typeof v === "object" ? finite((v as Record<string, unknown>)[metric]) : null;
  };
  const low = finite(nested?.ci_low) ?? finite(s[`${metric}_ci_low`]) ?? byMetric("ci_low") ?? finite(s.ci_low);
  const high = finite(nested?.ci_high) ?? finite(s[`${metric}_ci_high`]) ?? byMetric("ci_high") ?? finite(s.ci_high);
  const n = finite(nested?.n) ?? finite(s.n) ?? finite(s.images);
  return { n, interval: low !== null && high !== null && low <= high ? { low, high } : null };
}

/** The headline value of a split (`{metric: 0.8}` or `{metric: {value: 0.8}}`). */
export function headlineOf(split: Json, metric: string): number | null {
  if (!split || typeof split !== "object") return null;
  const v = (split as Record<string, unknown>)[metric];
  if (v && typeof v === "object") return finite((v as Record<string, unknown>).value);
  return finite(v);
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

/** The metric the learning curve follows: mAP@0.5 for detection, else accuracy. */
export function headlineMetric(metrics: { val?: Json; test?: Json }): string {
  const has = (split: Json) => Boolean(split && typeof split === "object" && "map50" in split);
  return has(metrics.val) || has(metrics.test) ? "map50" : "accuracy";
}
