/**
 * Numbers as plots and tables print them: counts as integers ("num GT 97", never
 * "97.0"), scores in [0, 1] to three decimals, other measures to two.
 */

/** Keys whose values count things (images, boxes, samples). */
const COUNT_KEYS = new Set(["n", "images", "num_gt", "support", "count", "labels", "labels_seen", "credits_spent", "boxes"]);

export function isCountKey(key: string): boolean {
  return COUNT_KEYS.has(key) || key.startsWith("num_") || key.startsWith("n_") || key.endsWith("_count");
}

export function formatCount(v: number): string {
  return Math.round(v).toLocaleString("en-US");
}

/** A measured value; `key` (its name) decides whether it is a count. */
export function formatValue(v: number | null | undefined, key = ""): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (isCountKey(key)) return formatCount(v);
  if (Math.abs(v) <= 1) return v.toFixed(3);
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** "0.812 (95 % CI 0.70–0.89, n = 40)"-style text; parts left out when unknown. */
export function formatWithInterval(
  v: number | null | undefined,
  interval: { low: number; high: number } | null | undefined,
  n?: number | null,
): string {
  const parts: string[] = [];
  if (interval) parts.push(`95% CI ${interval.low.toFixed(3)}–${interval.high.toFixed(3)}`);
  if (n !== null && n !== undefined) parts.push(`n = ${formatCount(n)}`);
  return parts.length ? `${formatValue(v)} (${parts.join(", ")})` : formatValue(v);
}

const METRIC_NAMES: Record<string, string> = {
  map50: "mAP@0.5",
  map: "mAP@0.5:0.95",
  ap50: "AP@0.5",
  ap: "AP@0.5:0.95",
  accuracy: "accuracy",
  macro_f1: "macro F1",
  f1: "F1",
  num_gt: "num GT",
  count_mae: "count MAE",
  exact_count_rate: "exact count rate",
};

export function metricName(key: string): string {
  return METRIC_NAMES[key] ?? key.replaceAll("_", " ");
}
