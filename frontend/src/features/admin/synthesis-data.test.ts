import { describe, expect, it } from "vitest";
import type { SynthesisJob } from "../../api/types";
import { beforeAfterRows, stopReasonText, synthesisProgress, synthesisRefetchMs } from "./synthesis-data";

function job(overrides: Partial<SynthesisJob>): SynthesisJob {
  return {
    id: 1, status: "running", allowance: 8, images_made: 2, images: { confirmed: 0, skipped: 0, pending: 2 },
    stop_reason: "", error: "", requested_by: "admin", metric: "ap50", model_version_before: 1, model_version_after: null,
    ap_before: { box: 0.4 }, ap_after: null, classes: [{ name: "box", before: 0.4, after: null, delta: null }], plan: [],
    created_at: "2026-11-24T06:00:00Z", started_at: null, finished_at: null, ...overrides,
  } as SynthesisJob;
}

describe("synthesis job helpers", () => {
  it("reports images made over the allowance, and a finished job as complete", () => {
    expect(synthesisProgress(job({}))).toBe(0.25);
    expect(synthesisProgress(job({ status: "succeeded", images_made: 3, stop_reason: "budget_exhausted" }))).toBe(1);
    expect(synthesisProgress(job({ images_made: 9 }))).toBe(1);
  });

  it("explains why a job stopped early, and passes unknown reasons through", () => {
    expect(stopReasonText("budget_exhausted")).toMatch(/credits ran out/);
    expect(stopReasonText("")).toBe("");
    expect(stopReasonText("something_new")).toBe("something_new");
  });

  it("polls fast while running, slowly while the report waits, then stops", () => {
    expect(synthesisRefetchMs(job({ status: "queued" }))).toBe(1500);
    expect(synthesisRefetchMs(job({ status: "succeeded" }))).toBe(10000);
    const done = job({ status: "succeeded", images: { confirmed: 2, skipped: 0, pending: 0 }, ap_after: { box: 0.5 } });
    expect(synthesisRefetchMs(done)).toBe(false);
    expect(synthesisRefetchMs(job({ status: "failed" }))).toBe(false);
    expect(synthesisRefetchMs(undefined)).toBe(false);
  });

  it("keeps a class without an after value as a missing bar", () => {
    expect(beforeAfterRows(job({}))).toEqual([{ name: "box", before: 0.4, after: null }]);
  });
});
