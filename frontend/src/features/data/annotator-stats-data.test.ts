import { describe, expect, it } from "vitest";
import type { AnnotatorStats } from "../../api/types";
import { labelsPerDayRows, percent, qualityRows } from "./annotator-stats-data";

const stats = {
  days: ["2026-11-27", "2026-11-28"],
  annotators: [
    { user: 1, username: "ann", labels: 5, labels_per_day: [{ day: "2026-11-27", labels: 2 }, { day: "2026-11-28", labels: 3 }],
      median_seconds: 4, reviewed: 4, rejection_rate: 0.25, agreement_with_reviewers: 0.75, gold_answers: 0, gold_score: null,
      consensus_pairs: 4, consensus_agreement: 0.75 },
    { user: 2, username: "bob", labels: 1, labels_per_day: [{ day: "2026-11-27", labels: 0 }, { day: "2026-11-28", labels: 1 }],
      median_seconds: null, reviewed: 0, rejection_rate: null, agreement_with_reviewers: null, gold_answers: 1, gold_score: 0.5,
      consensus_pairs: 0, consensus_agreement: null },
  ],
} as AnnotatorStats;

describe("annotator statistics", () => {
  it("pivots labels per day into one row per day", () => {
    expect(labelsPerDayRows(stats)).toEqual([
      { day: "2026-11-27", ann: 2, bob: 0 },
      { day: "2026-11-28", ann: 3, bob: 1 },
    ]);
  });
  it("keeps unknown rates as null, not zero", () => {
    expect(qualityRows(stats)[0]).toEqual({ username: "ann", gold: null, agreement: 75, consensus: 75, rejection: 25 });
    expect(qualityRows(stats)[1]).toEqual({ username: "bob", gold: 50, agreement: null, consensus: null, rejection: null });
    expect(percent(null)).toBe("–");
    expect(percent(0.25)).toBe("25%");
  });
});
