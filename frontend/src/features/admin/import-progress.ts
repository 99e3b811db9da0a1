/**
 * What the import panel shows for an import job (POST /import → 202 job; GET /imports/{id}
 * until it finishes).
 */
import type { ImportJob } from "../../api/types";

export function isFinished(job: ImportJob): boolean {
  return job.status === "succeeded" || job.status === "failed";
}

export interface ImportView {
  /** In [0, 1], or null while the total is not known yet (an indeterminate bar). */
  fraction: number | null;
  headline: string;
  tone: "progress" | "success" | "error";
  facts: string[];
}

const plural = (n: number, word: string) =>
  `${n.toLocaleString("en")} ${word}${n === 1 ? "" : word.endsWith("s") ? "es" : "s"}`;

/**
 * A running job first checks every image (phase `checking`, counting up `checked`; nothing is
 * stored yet), then stores them (phase `importing`, counting up `done`). Each phase shows its
 * own count against the total: during the check `done` stays 0, which read as a stalled import.
 */
function runningView(job: ImportJob, total: number | null): Pick<ImportView, "fraction" | "headline"> {
  const checking = job.phase !== "importing";
  const verb = checking ? "Checking" : "Importing";
  const count = checking ? (job.checked ?? 0) : job.done;
  if (!total) return { fraction: null, headline: checking ? "Checking: reading the archive…" : `Importing: ${plural(count, "image")} so far` };
  return {
    fraction: Math.min(1, count / total),
    headline: `${verb}: ${count.toLocaleString("en")} of ${plural(total, "image")}`,
  };
}

export function importView(job: ImportJob): ImportView {
  const total = job.total ?? null;
  const facts = [
    `${plural(job.created ?? 0, "new image")}`,
    `${plural(job.duplicates ?? 0, "duplicate")}`,
    `${plural(job.labels ?? 0, "label")}`,
  ];
  if (job.errors && job.errors.length > 0) facts.push(`${plural(job.errors.length, "problem")}`);
  switch (job.status) {
    case "queued":
      return { fraction: null, headline: "Queued: waiting for a worker…", tone: "progress", facts: [] };
    case "running":
      // Nothing is stored while checking: counts of new images would all read 0.
      return { ...runningView(job, total), tone: "progress", facts: job.phase === "importing" ? facts : [] };
    case "succeeded":
      return { fraction: 1, headline: "Import finished.", tone: "success", facts };
    default:
      return { fraction: total ? Math.min(1, job.done / total) : 0, headline: job.detail || "The import failed.", tone: "error", facts };
  }
}
