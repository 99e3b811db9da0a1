/**
 * Flattens a model version's val and test metrics into aligned rows so they can
 * be shown side by side, whatever their nesting: `{map50: 0.7}`,
 * `{per_class: {pill: {ap50: 0.8}}}` or `{pill: {precision: 0.9}}` all work.
 * The evaluation sample's size and interval (`images`, `interval`) are read
 * apart by `sampleOf` and left out of the rows.
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

/** The evaluation sample's size and interval: shown apart, never as metric rows. */
const SAMPLE_KEYS = new Set(["images", "interval"]);

function flatten(value: Json, path: string[], out: Map<string, { group: string | null; metric: string; v: number }>) {
  if (path.length === 1 && SAMPLE_KEYS.has(path[0]!)) return;
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
  /** 95 % interval of the headline metric, when the server computed one. */
  interval: Interval | null;
}

const finite = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function intervalOf(v: unknown): Interval | null {
  if (!Array.isArray(v) || v.length !== 2) return null;
  const [low, high] = v.map(finite);
  return low != null && high != null && low <= high ? { low, high } : null;
}

/**
 * The size of a split's evaluation sample and the 95 % interval of its headline
 * metric, as training stores them: `{images, <metric>, interval: [low, high] | null}`.
 */
export function sampleOf(split: Json): EvaluationSample {
  if (!split || typeof split !== "object" || Array.isArray(split)) return { n: null, interval: null };
  const s = split as Record<string, unknown>;
  return { n: finite(s.images), interval: intervalOf(s.interval) };
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
