import { describe, expect, it } from "vitest";
import { nextCandidates } from "./prefetch";

describe("nextCandidates", () => {
  it("skips the image on screen and keeps the queue order", () => {
    const images = [
      { id: 5, file_url: "/f/5" },
      { id: 3, file_url: "/f/3" },
      { id: 9, file_url: "/f/9" },
    ];
    expect(nextCandidates(images, 5, 2)).toEqual(["/f/3", "/f/9"]);
    expect(nextCandidates(images, 1, 2)).toEqual(["/f/5", "/f/3"]);
    expect(nextCandidates([], 1, 2)).toEqual([]);
  });
});
