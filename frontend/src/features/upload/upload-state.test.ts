// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import type { Image } from "../../api/types";
import { outcomeOfError, outcomeOfSuccess, summarize, uploadReducer } from "./upload-state";

const image = { id: 7, original_name: "a.png" } as Image;

describe("upload outcomes", () => {
  it("tells created from duplicate", () => {
    expect(outcomeOfSuccess({ created: [image], duplicates: [] }).status).toBe("created");
    const dup = outcomeOfSuccess({ created: [], duplicates: [image] });
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
