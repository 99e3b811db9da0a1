import type { AnnotatorStats } from "../../api/types";

/** Rows for a per-day line chart: one row per day, one key per annotator. */
export function labelsPerDayRows(stats: AnnotatorStats): Record<string, string | number>[] {
  return stats.days.map((day, i) => {
    const row: Record<string, string | number> = { day };
    for (const a of stats.annotators) row[a.username] = Number(a.labels_per_day[i]?.labels ?? 0);
    return row;
  });
}

/** Rows for the quality bar chart, as percentages (null stays null: no bar, not a zero). */
export function qualityRows(stats: AnnotatorStats) {
  const pct = (v: number | null | undefined) => (v == null ? null : Math.round(v * 1000) / 10);
  return stats.annotators.map((a) => ({
    username: a.username,
    gold: pct(a.gold_score),
    agreement: pct(a.agreement_with_reviewers),
    consensus: pct(a.consensus_agreement),
    rejection: pct(a.rejection_rate),
  }));
}

export const percent = (v: number | null | undefined) => (v == null ? "–" : `${(v * 100).toFixed(0)}%`);
