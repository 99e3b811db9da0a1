import { describe, expect, it } from "vitest";
import type { ImportJob } from "../../api/types";
import { importView, isFinished } from "./import-progress";

const job = (over: Partial<ImportJob>): ImportJob => ({
  id: 7,
  status: "running",
  done: 0,
  total: null,
  created: 0,
  duplicates: 0,
  labels: 0,
  checked: 0,
  classes_created: 0,
  class_mapping: {},
  phase: "",
  errors: [],
  detail: null,
  archive_name: "dataset.zip",
  created_at: "2026-11-28T12:00:00Z",
  started_at: null,
  finished_at: null,
  ...over,
});

describe("import progress", () => {
  it("shows an indeterminate bar until the total is known, then done of total", () => {
    expect(importView(job({ status: "queued" })).fraction).toBeNull();
    expect(importView(job({ status: "running", phase: "importing", done: 5 })).headline).toBe("Importing: 5 images so far");
    const running = importView(
      job({ status: "running", phase: "importing", done: 30, total: 120, checked: 120, created: 28, duplicates: 2, labels: 40 }),
    );
    expect(running.fraction).toBe(0.25);
    expect(running.headline).toBe("Importing: 30 of 120 images");
    expect(running.facts).toEqual(["28 new images", "2 duplicates", "40 labels"]);
  });

  it("issue 15 item 8: counts the checking phase as checked of total, not an empty import bar", () => {
    const reading = importView(job({ status: "running", phase: "", total: null }));
    expect(reading.fraction).toBeNull();
    expect(reading.headline).toBe("Checking: reading the archive…");
    const checking = importView(job({ status: "running", phase: "checking", total: 200, checked: 50, done: 0 }));
    expect(checking.headline).toBe("Checking: 50 of 200 images");
    expect(checking.fraction).toBe(0.25);
    expect(checking.facts).toEqual([]);
    const storing = importView(job({ status: "running", phase: "importing", total: 200, checked: 200, done: 0 }));
    expect(storing.headline).toBe("Importing: 0 of 200 images");
    expect(storing.fraction).toBe(0);
  });

  it("ends in success or in the server's reason, with the problems counted", () => {
    expect(isFinished(job({ status: "succeeded" }))).toBe(true);
    expect(isFinished(job({ status: "running" }))).toBe(false);
    const failed = importView(
      job({ status: "failed", done: 3, total: 10, detail: "annotations.json: not JSON", errors: [{ file: "a.jpg", annotation: null, detail: "truncated" }] }),
    );
    expect(failed.tone).toBe("error");
    expect(failed.headline).toBe("annotations.json: not JSON");
    expect(failed.facts).toContain("1 problem");
  });
});
