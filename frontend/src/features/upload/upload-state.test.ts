// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import type { Image } from "../../api/types";
import {
  createdIds,
  nearDuplicateLines,
  outcomeOfError,
  outcomeOfSuccess,
  summarize,
  uploadReducer,
} from "./upload-state";

const image = { id: 7, original_name: "a.png" } as Image;

describe("upload outcomes", () => {
  it("tells created from duplicate", () => {
    const created = outcomeOfSuccess({ created: [image], duplicates: [], near_duplicates_report: "/r?ids=7" });
    expect(created).toEqual({ status: "created", imageId: 7 });
    const dup = outcomeOfSuccess({ created: [], duplicates: [image], near_duplicates_report: null });
    expect(dup.status).toBe("duplicate");
    expect(dup.reason).toContain("#7");
  });

  it("takes the rejection reason for this file from the API", () => {
    const error = new ApiError(400, {
      detail: "Some files were rejected.",
      errors: [
        { file: "other.txt", detail: "nope" },
        { file: "notes.txt", detail: "Not an image." },
      ],
    });
    expect(outcomeOfError(error, "notes.txt")).toEqual({ status: "rejected", reason: "Not an image." });
    expect(outcomeOfError(new ApiError(400, { files: ["Too big."] }), "x").reason).toBe("Too big.");
    expect(outcomeOfError(new ApiError(500, { detail: "Boom" }), "x")).toEqual({ status: "failed", reason: "Boom" });
  });

  it("tracks items through the queue", () => {
    const file = new File(["x"], "a.png");
    let items = uploadReducer([], { type: "add", files: [{ file, path: "a.png" }, { file, path: "b.png" }] });
    const [a, b] = items;
    items = uploadReducer(items, { type: "start", key: a!.key });
    items = uploadReducer(items, { type: "progress", key: a!.key, progress: 0.5 });
    expect(items[0]).toMatchObject({ status: "uploading", progress: 0.5 });
    items = uploadReducer(items, { type: "finish", key: a!.key, status: "created" });
    expect(summarize(items)).toMatchObject({ created: 1, queued: 1 });
    items = uploadReducer(items, { type: "clearFinished" });
    expect(items.map((i) => i.key)).toEqual([b!.key]);
  });
});

describe("near-duplicate report", () => {
  const report = { available: true, threshold: 0.95, checked: 2, pending: [] as number[], near_duplicates: [] };

  it("names each new image that looks like an earlier one", () => {
    const { lines, status } = nearDuplicateLines({
      ...report,
      near_duplicates: [{ image: 9, name: "img_7.jpg", duplicate_of: 3, duplicate_of_name: "img_3.jpg", similarity: 0.981 }],
    });
    expect(lines).toEqual(["img_7.jpg looks like img_3.jpg (image #3, cosine 0.98)"]);
    expect(status).toContain("1 of 2 new images");
  });

  it("says when the worker is still checking, or cannot check", () => {
    expect(nearDuplicateLines({ ...report, checked: 0, pending: [4, 5] }).status).toBe(
      "Checking 2 new images for near-duplicates…",
    );
    expect(nearDuplicateLines({ ...report, available: false }).status).toContain("without the pretrained backbone");
  });

  it("asks about the stored uploads only", () => {
    const file = new File(["x"], "a.png");
    let items = uploadReducer([], { type: "add", files: [{ file, path: "a.png" }, { file, path: "b.png" }] });
    items = uploadReducer(items, { type: "finish", key: items[0]!.key, status: "created", imageId: 12 });
    items = uploadReducer(items, { type: "finish", key: items[1]!.key, status: "duplicate" });
    expect(createdIds(items)).toEqual([12]);
  });
});
