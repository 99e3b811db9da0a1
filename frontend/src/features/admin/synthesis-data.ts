import type { SynthesisJob } from "../../api/types";

export const isSynthesisOpen = (job: SynthesisJob) => job.status === "queued" || job.status === "running";

/** Images made over the allowance, in [0, 1]; a finished job that stopped early is complete. */
export function synthesisProgress(job: SynthesisJob): number {
  if (job.status === "succeeded") return 1;
  if (job.allowance <= 0) return 0;
  return Math.min(1, job.images_made / job.allowance);
}

const STOP_REASONS: Record<string, string> = {
  budget_exhausted: "Stopped early: the credits ran out.",
  sources_exhausted: "Made fewer than planned: not enough distinct source images for the weak classes.",
  nothing_to_synthesize: "Nothing to synthesize: the health check found no weak class or region.",
};

export const stopReasonText = (reason: string) => (reason ? (STOP_REASONS[reason] ?? reason) : "");

/** How often to poll: fast while the job runs, slowly while its images or the "after" report are pending. */
export function synthesisRefetchMs(job: SynthesisJob | undefined): number | false {
  if (!job) return false;
  if (isSynthesisOpen(job)) return 1500;
  if (job.status === "succeeded" && (job.images.pending > 0 || job.ap_after === null)) return 10000;
  return false;
}

/** Rows for the before/after bar chart: one per class, nulls kept (no bar). */
export function beforeAfterRows(job: SynthesisJob): { name: string; before: number | null; after: number | null }[] {
  return job.classes.map((c) => ({ name: c.name, before: c.before ?? null, after: c.after ?? null }));
}
